"""Kill a Ray worker process while Feast's Ray engine materializes: the job completes (Ray
retries the task elsewhere) or fails with a readable reason, and a rerun leaves exactly the
online values of a clean run. The process killed is one of this cluster's own (below the
pids infra/ray-cluster.sh wrote), chosen while it runs a task of the materialization."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from tests.integration.cluster.conftest import CLEAN_RAY, FAULTED_RAY
from tests.integration.cluster.test_ray_materialization import comparable

pytestmark = pytest.mark.integration

POLL_S = 0.005


def _materialize_in_background(store, start, end) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        began = time.monotonic()
        try:
            store.materialize(start_date=start, end_date=end)
            outcome["error"] = None
        except Exception as error:  # the outcome under test: reported below
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_killed_ray_worker_then_rerun_leaves_the_clean_runs_values(engine_stacks, local_ray_cluster):
    import os
    import signal

    store = engine_stacks.projects[FAULTED_RAY].store
    start, end = engine_stacks.window()
    thread, outcome = _materialize_in_background(store, start, end)
    killed = []
    while thread.is_alive() and not killed:
        for node, pid, title in local_ray_cluster.busy_task_workers():
            os.kill(pid, signal.SIGKILL)
            killed.append((node, pid, title))
            break
        time.sleep(POLL_S)
    thread.join(timeout=900)
    assert not thread.is_alive(), "materialization did not return within 15 minutes of the kill"
    assert killed, "no Ray worker ran a task during materialization: nothing was killed"
    error = outcome["error"]
    clean = comparable(engine_stacks.online(CLEAN_RAY))
    after_fault = comparable(engine_stacks.online(FAULTED_RAY))
    tickers_written = int(after_fault.filter(like=":event_timestamp").notna().all(axis=1).sum())
    print(f"\nkilled {killed[0]}; materialize {'raised ' + repr(error) if error else 'completed'} "
          f"after {outcome['seconds']:.1f}s; tickers fully online after the faulted run: "
          f"{tickers_written} of {len(clean)}")
    if error is None:
        pd.testing.assert_frame_equal(after_fault, clean, check_exact=True)
    else:
        assert str(error).strip(), f"{type(error).__name__} without a message"
    store.materialize(start_date=start, end_date=end)
    pd.testing.assert_frame_equal(comparable(engine_stacks.online(FAULTED_RAY)), clean, check_exact=True)
