"""Fixtures for the flow tests: an ephemeral Prefect API, a private database, a prod stack.

The prod stack lives in its own throwaway database (flows here add restatements and new
sessions that other test modules should not see) and Redis db 15 is flushed afterwards, so
online values written here cannot shadow another module's (Feast skips older timestamps).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.integration.profile_stack import ProfileStack, build_stack
from tests.services import throwaway_database


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A temporary Prefect API for the session; heartbeats off (each costs ~1 s per run)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture(scope="module")
def private_pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    with throwaway_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory, private_pg_dsn, redis_url) -> Iterator[ProfileStack]:
    saved = os.environ.copy()  # Settings.export_feast_environment writes os.environ directly
    with pytest.MonkeyPatch.context() as monkeypatch:
        stack = build_stack("prod", tmp_path_factory.mktemp("pipelines_prod"), monkeypatch,
                            private_pg_dsn, redis_url)
        try:
            yield stack
        finally:
            stack.warehouse.close()
            redis.Redis.from_url(redis_url).flushdb()
            # Later modules must not inherit Feast variables naming this module's dropped database.
            for key in set(os.environ) - set(saved):
                del os.environ[key]
            os.environ.update(saved)
