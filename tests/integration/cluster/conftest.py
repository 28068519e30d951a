"""One `cluster`-profile stack (real PostgreSQL + a local 6-node Redis Cluster + a local Ray
cluster, on which Feast's ray.engine materializes) for the
serving tests that the prod profile also passes (they are imported into this folder and
run against this `stack`)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from stockfeatures import trading_calendar
from stockfeatures.prices.sample import DEFAULT_TICKERS
from tests.integration.engine_stacks import build_engine_stacks
from tests.integration.profile_stack import build_stack
from tests.services import throwaway_database

# 20 of the sample universe plus its benchmark SPY; their own Feast projects (Redis keys
# carry the project), so they never meet the `stack` fixture's values.
ENGINE_TICKERS = [*DEFAULT_TICKERS[:20], "SPY"]
CLEAN_RAY, LOCAL, FAULTED_RAY, PAST_RAY = "sf_ray_engine", "sf_local_engine", "sf_ray_fault", "sf_ray_past"


def recent_history() -> tuple:
    """2.5 years up to the latest completed session. Feast's Ray engine drops, during
    materialization, every row older than now - the view's ttl (RayFilterNode compares with
    the wall clock), so only recent data shows what the engine itself writes."""
    end = trading_calendar.latest_completed_session(pd.Timestamp.now(tz="UTC")).date()
    return end - timedelta(days=913), end


@pytest.fixture(scope="session")
def stack(tmp_path_factory, pg_admin_dsn, redis_cluster_nodes, ray_address):
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        yield build_stack("cluster", tmp_path_factory.mktemp("cluster"), monkeypatch, dsn,
                          redis_cluster_nodes=redis_cluster_nodes, ray_address=ray_address)


@pytest.fixture(scope="session")
def engine_stacks(tmp_path_factory, pg_admin_dsn, redis_cluster_nodes, ray_address):
    """One warehouse, three Feast projects: CLEAN_RAY and LOCAL materialized over the whole
    history by Feast's Ray engine and by its local engine; FAULTED_RAY left empty for the
    worker-kill test; PAST_RAY left empty for the ttl test."""
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        stacks = build_engine_stacks(
            tmp_path_factory.mktemp("engines"), monkeypatch, dsn, redis_cluster_nodes, ray_address,
            ENGINE_TICKERS, *recent_history(),
            projects={CLEAN_RAY: "ray", LOCAL: "local", FAULTED_RAY: "ray", PAST_RAY: "ray"},
        )
        start, end = stacks.window()
        for project in (CLEAN_RAY, LOCAL):
            stacks.projects[project].store.materialize(start_date=start, end_date=end)
        yield stacks
