"""A minimal feature store per profile for the intraday push path: definitions applied, no
daily data (the intraday view needs none). `prod` gets its own throwaway database on the
real PostgreSQL server and Redis database 15; `local` is SQLite + parquet in a tmp dir."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis

from stockfeatures.config import Settings
from tests.integration.profile_stack import apply_definitions, configure_profile
from tests.services import throwaway_database


@dataclass
class PushStack:
    settings: Settings
    warehouse: object
    store: object


def build_push_stack(profile: str, root, monkeypatch, pg_dsn: str | None = None,
                     redis_url: str | None = None) -> PushStack:
    settings, warehouse = configure_profile(profile, root, monkeypatch, pg_dsn, redis_url)
    return PushStack(settings, warehouse, apply_definitions(settings, monkeypatch))


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
