"""A minimal feature store per profile for the intraday push path: definitions applied, no
daily data (the intraday view needs none). `prod` gets its own throwaway database on the
real PostgreSQL server and Redis database 15; `local` is SQLite + parquet in a tmp dir."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis

from stockfeatures import jobs
from stockfeatures.config import Settings, load_settings
from stockfeatures.profiles import open_feature_store, open_warehouse
from tests.conftest import copy_repo_skeleton
from tests.services import throwaway_database


@dataclass
class PushStack:
    settings: Settings
    warehouse: object
    store: object


def build_push_stack(profile: str, root, monkeypatch, pg_dsn: str | None = None,
                     redis_url: str | None = None) -> PushStack:
    copy_repo_skeleton(root)
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(root))
    monkeypatch.setenv("STOCKFEATURES_PROFILE", profile)
    if pg_dsn:
        monkeypatch.setenv("STOCKFEATURES_PG_DSN", pg_dsn)
    if redis_url:
        monkeypatch.setenv("STOCKFEATURES_REDIS_URL", redis_url)
    settings = load_settings()
    warehouse = open_warehouse(settings)
    warehouse.migrate()
    for key, value in settings.feast_environment().items():
        monkeypatch.setenv(key, value)
    jobs.apply_definitions(settings)
    return PushStack(settings, warehouse, open_feature_store(settings))


@pytest.fixture(scope="module", params=["local", "prod"])
def push_stack(request, tmp_path_factory, pg_admin_dsn, redis_url):
    with pytest.MonkeyPatch.context() as monkeypatch:
        if request.param == "local":
            stack = build_push_stack("local", tmp_path_factory.mktemp("push_local"), monkeypatch)
            yield stack
        else:
            with throwaway_database(pg_admin_dsn) as dsn:
                redis.Redis.from_url(redis_url).flushdb()
                stack = build_push_stack("prod", tmp_path_factory.mktemp("push_prod"), monkeypatch,
                                         dsn, redis_url)
                yield stack
                stack.warehouse.close()


@pytest.fixture(scope="module")
def prefect_api():
    """A temporary Prefect API for this module's flow runs; heartbeats off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
