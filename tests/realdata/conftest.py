"""One feature store per profile, loaded from the real CSV through the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from stockfeatures.cli import main
from stockfeatures.config import Settings, load_settings
from stockfeatures.profiles import open_feature_store, open_warehouse
from tests.conftest import copy_repo_skeleton
from tests.realdata.data import BENCHMARK, all_bars, write_csv
from tests.services import throwaway_database

# Every index and GOOG row is in the window, so each ticker's last session gets materialized.
MATERIALIZE_FROM = "2013-01-01T00:00:00+00:00"


@dataclass
class RealStack:
    profile: str
    root: Path
    settings: Settings
    warehouse: object
    bars: pd.DataFrame

    @property
    def store(self):
        return open_feature_store(self.settings)


def run_cli(*argv: str) -> None:
    code = main(list(argv))
    assert code == 0, f"stockfeatures {' '.join(argv)} exited {code}"


def materialize(stack: RealStack) -> None:
    latest = stack.warehouse.read_features()["event_timestamp"].max() + pd.Timedelta(seconds=1)
    run_cli("materialize", "--start", MATERIALIZE_FROM, "--end", latest.isoformat())


@pytest.fixture(scope="module", params=["local", "prod"])
def real_stack(request, tmp_path_factory, pg_admin_dsn, redis_url):
    """ingest (CSV) -> compute -> apply -> materialize, as a user runs them from a shell."""
    profile = request.param
    root = tmp_path_factory.mktemp(f"real_{profile}")
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        copy_repo_skeleton(root)
        monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(root))
        monkeypatch.setenv("STOCKFEATURES_PROFILE", profile)
        monkeypatch.setenv("STOCKFEATURES_BENCHMARK_TICKER", BENCHMARK)
        if profile == "prod":
            monkeypatch.setenv("STOCKFEATURES_PG_DSN", dsn)
            monkeypatch.setenv("STOCKFEATURES_REDIS_URL", redis_url)
        bars = all_bars()
        csv = write_csv(bars, root / "real_bars.csv")
        run_cli("ingest", "--source", "csv", "--path", str(csv), "--start", "1999-01-01", "--end", "2018-12-31")
        run_cli("compute")
        run_cli("apply")
        settings = load_settings()
        stack = RealStack(profile, root, settings, open_warehouse(settings), bars)
        materialize(stack)
        yield stack
