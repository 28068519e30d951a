"""A first run on a new machine must not time out while Prefect creates its database.

Prefect's ephemeral API server creates and migrates a SQLite database in an empty
PREFECT_HOME before it answers; on a busy 2-core machine that takes longer than Prefect's
default 20 s start-up limit (issue 9). The limit is read when `prefect` is first imported,
so these tests import the flows in a fresh interpreter, as `make demo` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PREFECT_DEFAULT_STARTUP_TIMEOUT = 20


def _prefect_settings_after_importing(module: str, env: dict[str, str]) -> dict:
    probe = (
        f"import {module}\n"
        "import json\n"
        "from prefect.settings import get_current_settings\n"
        "s = get_current_settings()\n"
        "print(json.dumps({'startup_timeout': s.server.ephemeral.startup_timeout_seconds,"
        " 'analytics': s.server.analytics_enabled}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "empty-prefect-home")
    return env


def test_flows_give_the_ephemeral_server_time_to_migrate_a_new_database(tmp_path):
    settings = _prefect_settings_after_importing("pipelines.demo", _clean_env(tmp_path))
    assert settings["startup_timeout"] >= 6 * PREFECT_DEFAULT_STARTUP_TIMEOUT
    assert settings["analytics"] is False


def test_an_operator_can_still_choose_the_startup_timeout(tmp_path):
    env = _clean_env(tmp_path) | {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "45"}
    settings = _prefect_settings_after_importing("pipelines.demo", env)
    assert settings["startup_timeout"] == 45
