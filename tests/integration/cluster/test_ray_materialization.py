"""Feast's Ray compute engine materializes the cluster profile exactly as its local engine
does: same online values and event timestamps for every ticker and feature, equal to the
warehouse's latest known rows (fixtures in conftest.py, helpers in engine_stacks.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.materialize_online import materialize_online
from tests.integration.cluster.conftest import CLEAN_RAY, ENGINE_TICKERS, LOCAL, PAST_RAY
from tests.integration.engine_stacks import warehouse_latest

pytestmark = pytest.mark.integration


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Event timestamps as UTC nanoseconds so frames from two readers compare exactly."""
    frame = frame.copy()
    for column in frame.columns:
        if column.endswith(":event_timestamp"):
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    return frame


def test_ray_project_runs_on_the_local_ray_cluster(engine_stacks, ray_address):
    import ray

    assert engine_stacks.projects[CLEAN_RAY].store.config.batch_engine.type == "ray.engine"
    assert engine_stacks.projects[LOCAL].store.config.batch_engine.type == "local"
    assert ray.is_initialized()
    assert ray.get_runtime_context().gcs_address.rpartition(":")[2] == ray_address.rpartition(":")[2]
    assert sum(node["Alive"] for node in ray.nodes()) == 2  # the head and the worker node


def test_ray_engine_leaves_the_local_engines_online_values(engine_stacks):
    by_ray = comparable(engine_stacks.online(CLEAN_RAY))
    by_local = comparable(engine_stacks.online(LOCAL))
    assert list(by_ray.index) == sorted(ENGINE_TICKERS)
    timestamps = [c for c in by_ray.columns if c.endswith(":event_timestamp")]
    assert by_ray[timestamps].notna().all().all(), "a ticker is missing from the Ray project"
    pd.testing.assert_frame_equal(by_ray, by_local, check_exact=True)


def test_ray_engine_online_values_are_the_warehouses_latest_rows(engine_stacks):
    pd.testing.assert_frame_equal(comparable(engine_stacks.online(CLEAN_RAY)),
                                  comparable(warehouse_latest(engine_stacks)), check_exact=True)


def test_sync_pass_after_the_ray_engine_has_nothing_to_rewrite(engine_stacks):
    """materialize_online (what `stockfeatures materialize` runs) rewrites a ticker only when
    Feast's engine left it different from the warehouse: after the Ray engine, none."""
    start, end = engine_stacks.window()
    sync = materialize_online(engine_stacks.projects[CLEAN_RAY].store, start, end,
                              warehouse=engine_stacks.warehouse)
    assert sync.checked == len(ENGINE_TICKERS)
    assert set(sync.rewritten.values()) == {0}


def test_ray_engine_skips_rows_older_than_the_ttl_and_the_sync_pass_writes_them(engine_stacks):
    """Feast's Ray engine filters materialized rows on `event_timestamp >= now - ttl`
    (RayFilterNode, wall clock), where the local engine writes the window's latest row
    whatever its age. A window that ended more than the 7-day ttl ago therefore leaves the
    online store empty after Feast's own materialize; materialize_online then writes every
    ticker from the warehouse, which is why `stockfeatures materialize` keeps that pass."""
    store = engine_stacks.projects[PAST_RAY].store
    start = engine_stacks.first_event.to_pydatetime()
    end = (engine_stacks.first_event + pd.Timedelta(days=30)).to_pydatetime()
    store.materialize(start_date=start, end_date=end)
    held = engine_stacks.online(PAST_RAY)
    assert held.filter(like=":event_timestamp").isna().all().all()
    sync = materialize_online(store, start, end, warehouse=engine_stacks.warehouse)
    assert set(sync.rewritten.values()) == {len(ENGINE_TICKERS)}
    held = engine_stacks.online(PAST_RAY)
    assert held.filter(like=":event_timestamp").notna().all().all()
