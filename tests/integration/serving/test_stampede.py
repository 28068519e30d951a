"""Concurrent misses on one ticker: one computation, bounded waits, no deadlock on a dead holder."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE
from tests.integration.serving.conftest import forget_online, make_server

pytestmark = pytest.mark.integration


def test_hundred_concurrent_misses_cause_exactly_one_computation(stack):
    server = make_server(stack, wait_timeout_s=30.0)
    forget_online(server, "NVDA")
    start = threading.Barrier(100)

    def read(_):
        start.wait()
        return server.get_features(["NVDA"], service=MOMENTUM_SERVICE)["NVDA"]

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(read, range(100)))
    assert server.warehouse.latest_reads["NVDA"] == 1
    assert all(item.status == "fresh" for item in results)
    assert sum(item.sources == {"offline"} for item in results) == 1  # the one that filled
    values = {item.values["ret_5d"].value for item in results}
    assert len(values) == 1


def test_caller_takes_over_after_the_lock_of_a_dead_holder_expires(stack):
    server = make_server(stack, wait_timeout_s=30.0)
    forget_online(server, "SPY")
    # A holder that crashed mid-fill: its lock stays until the expiry, nobody releases it.
    server.redis.set(server.locks.lock_key("SPY"), "dead-holder", px=300)
    item = server.get_features(["SPY"], features=["ret_1d"])["SPY"]
    assert (item.status, item.sources) == ("fresh", {"offline"})
    assert server.warehouse.latest_reads["SPY"] == 1
    assert server.redis.get(server.locks.lock_key("SPY")) is None


def test_wait_for_a_busy_lock_is_bounded_and_still_answers_from_the_warehouse(stack):
    server = make_server(stack, wait_timeout_s=0.05)
    forget_online(server, "AAPL")
    server.redis.set(server.locks.lock_key("AAPL"), "slow-holder", px=60_000)
    try:
        item = server.get_features(["AAPL"], features=["ret_1d"])["AAPL"]
    finally:
        server.redis.delete(server.locks.lock_key("AAPL"))
    assert (item.status, item.sources) == ("fresh", {"offline"})
