"""Redis dies while requests flow: nothing fails, values come from offline, then recover."""

from __future__ import annotations

import threading
import time

import pytest

from stockfeatures.config import load_settings
from stockfeatures.profiles import open_feature_store
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import free_port, make_server

pytestmark = pytest.mark.integration

TICKERS = ["AAPL", "MSFT"]


def test_closed_redis_port_serves_offline_values_marked_offline(stack):
    server = make_server(stack, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = server.get_features(TICKERS, features=["ret_1d", "vol_20d"])
    for item in response.tickers:
        assert (item.status, item.sources) == ("fresh", {"offline"})
    assert server.breaker.is_open


def test_redis_killed_mid_traffic_fails_no_request_and_recovers(stack, own_redis, monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", own_redis.url)
    for key, value in stack.settings.feast_environment().items():
        monkeypatch.setenv(key, value)  # restored after the test; open_feature_store rewrites them
    store = open_feature_store(load_settings())
    warm_up_store(store, stack.warehouse, TICKERS)
    server = make_server(stack, store=store, redis_url=own_redis.url, breaker_cooldown_s=0.05)

    sources: list[set[str]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                response = server.get_features(TICKERS, features=["ret_1d"])
                sources.append(set().union(*(item.sources for item in response.tickers)))
            except BaseException as error:  # any failure is what this test looks for
                failures.append(error)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        _wait_until(lambda: {"online"} in sources)
        own_redis.kill()
        seen = len(sources)
        _wait_until(lambda: any(s == {"offline"} for s in sources[seen:]))
        own_redis.start()  # empty again: the first reads after recovery refill it
        seen = len(sources)
        _wait_until(lambda: any(s == {"online"} for s in sources[seen:]))
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert not server.breaker.is_open


def _wait_until(condition, attempts: int = 2000) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached")
