"""`feast apply` for a profile, as a library call.

The batch stages (ingest, compute, materialize) live in stockfeatures.stages, one module
each, and every caller (CLI, Prefect flows, library) runs those.
"""

from __future__ import annotations

import logging
import subprocess
import sys

from stockfeatures.config import Settings
from stockfeatures.redaction import redact

log = logging.getLogger(__name__)


class ApplyFailed(RuntimeError):
    """`feast apply` exited non-zero; the message holds the end of its (redacted) stderr."""


def apply_definitions(settings: Settings) -> str:
    """Run `feast apply` for the profile in a child process; return a one-line summary.

    A child process, because Feast imports feature_repo modules by bare name and caches
    them in sys.modules: a second apply with another profile in the same process would see
    the first profile's sources. Feast's full output (which repeats every view whose only
    change is its meta timestamps) goes to the INFO log; see stockfeatures.apply_report.
    """
    from stockfeatures.apply_report import summarize_apply

    settings.export_feast_environment()
    settings.local_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "feast.cli.cli", "-c", str(settings.feature_repo_dir),
        "-f", str(settings.feature_store_yaml), "apply",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ApplyFailed(f"feast apply failed ({settings.profile} profile):\n{redact(result.stderr[-4000:])}")
    log.info("feast apply output:\n%s", redact(result.stdout))
    return summarize_apply(result.stdout, settings.profile)
