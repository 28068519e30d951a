"""Redis down: the degraded tier answers from this worker's latest rows, not PostgreSQL per
request (issue 11, finding 2), with the online path's values and the tier named."""

from __future__ import annotations

import math

import pytest

from stockfeatures.config import load_settings
from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.profiles import open_feature_store
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import make_server

pytestmark = pytest.mark.integration

TICKERS = ["AAPL", "MSFT", "NVDA"]


def _values(response) -> dict:
    return {(item.ticker, name): value.value for item in response.tickers for name, value in item.values.items()}


def _same(left: dict, right: dict) -> bool:
    return left.keys() == right.keys() and all(
        (a is None and b is None) or (a is not None and b is not None and (a == b or math.isnan(a) and math.isnan(b)))
        for a, b in ((left[k], right[k]) for k in left))


def _warm_server(stack, own_redis, monkeypatch):
    """A server over the stack with its online store in `own_redis`, warmed with TICKERS."""
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", own_redis.url)
    for key, value in stack.settings.feast_environment().items():
        monkeypatch.setenv(key, value)
    store = open_feature_store(load_settings())
    warm_up_store(store, stack.warehouse, TICKERS)
    return make_server(stack, store=store, redis_url=own_redis.url, breaker_cooldown_s=60.0)


def test_redis_down_reads_come_from_the_latest_rows_cache_with_online_values(stack, own_redis, monkeypatch):
    server = _warm_server(stack, own_redis, monkeypatch)
    plan = server.plans.resolve(None, MOMENTUM_SERVICE)
    online = server.read(plan, TICKERS)
    assert online.tier == "online"

    own_redis.kill()
    first = server.read(plan, TICKERS)
    assert first.tier == "warehouse"  # one batch fill
    reads_after_fill = sum(server.warehouse.latest_reads.values())
    for _ in range(200):
        again = server.read(plan, TICKERS)
        assert again.tier == "cache"
    assert sum(server.warehouse.latest_reads.values()) == reads_after_fill
    assert _same(_values(again.response()), _values(online.response()))
    for item in again.response().tickers:
        assert item.status == "fresh" and item.sources == {"offline"}


def test_one_fill_warms_every_ticker_this_worker_served(stack, own_redis, monkeypatch):
    server = _warm_server(stack, own_redis, monkeypatch)
    plan = server.plans.resolve(["ret_1d"], None)
    for ticker in TICKERS:
        server.read(plan, [ticker])
    own_redis.kill()
    assert server.read(plan, ["AAPL"]).tier == "warehouse"
    assert server.read(plan, ["MSFT"]).tier == "cache" and server.read(plan, ["NVDA"]).tier == "cache"
