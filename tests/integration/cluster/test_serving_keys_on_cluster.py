"""Serving's own multi-key Redis work on a Redis Cluster: keys of different tickers live on
different slots (and masters), and no read, fill lock, settled-miss marker or health probe
raises CROSSSLOT."""

from __future__ import annotations

import asyncio

import pytest
from redis.cluster import RedisCluster

from stockfeatures.serving.factory import serving_client
from stockfeatures.serving.health import HealthProbes
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.profile_stack import TICKERS
from tests.integration.serving.conftest import forget_online, make_server

pytestmark = pytest.mark.integration

# Names no sample source knows: each is an "unknown" miss that goes through a fill lock and
# leaves a settled-miss marker. 40 of them land on every master of a 3-master cluster.
UNKNOWN = [f"ZZ{i:02d}" for i in range(40)]


def _masters_holding(client: RedisCluster, keys) -> set[str]:
    return {client.get_node_from_key(key).name for key in keys}


def test_cluster_profile_serves_through_a_cluster_client(stack):
    assert stack.store.config.online_store.redis_type == "redis_cluster"
    assert isinstance(serving_client(stack.settings, 0.25), RedisCluster)
    assert isinstance(make_server(stack).redis, RedisCluster)


def test_one_request_reads_tickers_on_every_master(stack):
    warm_up_store(stack.store, stack.warehouse, TICKERS)  # other tests forget some of them
    server = make_server(stack)
    keys = [server.reader.key(ticker) for ticker in TICKERS]
    assert len({server.redis.keyslot(key) for key in keys}) == len(TICKERS)
    assert len(_masters_holding(server.redis, keys + [server.reader.key(t) for t in UNKNOWN])) == 3
    response = server.get_features(TICKERS, features=["ret_1d", "vol_20d"])
    assert {response[t].status for t in TICKERS} == {"fresh"}
    assert all(response[t].sources == {"online"} for t in TICKERS)


def test_locks_and_markers_of_many_tickers_raise_no_crossslot(stack):
    server = make_server(stack)
    locks = server.locks
    assert len(_masters_holding(server.redis, [locks.lock_key(t) for t in UNKNOWN])) == 3
    tokens = locks.acquire(UNKNOWN)
    assert set(tokens) == set(UNKNOWN)
    assert locks.acquire(UNKNOWN) == {}  # each lock is held once
    session_close = int(stack.latest.timestamp())
    locks.mark(dict.fromkeys(UNKNOWN, "unknown"), session_close)
    assert locks.markers([*UNKNOWN, "AAPL"], session_close) == dict.fromkeys(UNKNOWN, "unknown")
    locks.release(tokens)
    assert not any(locks.held(t) for t in UNKNOWN)
    for ticker in UNKNOWN:
        forget_online(server, ticker)
    assert locks.markers(UNKNOWN, session_close) == {}


def test_a_request_mixing_hits_and_unknown_misses_across_slots(stack):
    server = make_server(stack)
    for ticker in UNKNOWN:
        forget_online(server, ticker)
    for _ in range(2):  # the second time from the settled-miss markers
        response = server.get_features([*TICKERS, *UNKNOWN], features=["ret_1d"])
        assert {response[t].status for t in UNKNOWN} == {"unknown"}
        assert {response[t].status for t in TICKERS} == {"fresh"}
    assert all(server.warehouse.latest_reads[t] == 1 for t in UNKNOWN)
    assert not server.breaker.is_open


def test_health_probe_pings_the_cluster(stack):
    report = asyncio.run(HealthProbes(make_server(stack)).report())
    assert (report["status"], report["redis"], report["circuit_breaker"]) == ("ok", "ok", "closed")
