"""Both stores fail under the real server (issue 11, finding 1): bounded answers, self-recovery.

The server process (infra/serve.sh, one worker) runs on a private PostgreSQL cluster and a
private redis-server, which these tests kill, restart and freeze (SIGSTOP). Bounds are
checked as behaviour, through client timeouts (a 503 must arrive before the client gives
up; /health and /metrics must answer while both stores are gone); the measured times are
printed for benchmarks/results/http.md (run with -s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE
from tests.integration.profile_stack import build_stack
from tests.integration.serving.conftest import RedisProcess, serve_process

pytestmark = pytest.mark.integration

READ_TIMEOUT_S = 1.0
# A read must end (in a 503) before this: the deadline plus scheduling slack on a busy box.
CLIENT_LIMIT_S = READ_TIMEOUT_S + 2.0
# /health and /metrics must answer while both stores are down (their goal is 100 ms).
SIDE_ROUTE_LIMIT_S = 1.0


@pytest.fixture(scope="module")
def private_redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def fault_server(own_postgres, private_redis, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        stack = build_stack("prod", tmp_path_factory.mktemp("outage_stack"), monkeypatch,
                            own_postgres.dsn, private_redis.url)
        server = serve_process(stack, tmp_path_factory.mktemp("outage_metrics"), workers=1,
                               STOCKFEATURES_SERVING_BREAKER_COOLDOWN_S="0.3",
                               STOCKFEATURES_SERVING_READ_TIMEOUT_S=str(READ_TIMEOUT_S))
        with server as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client


def _read(client: httpx.Client, *tickers: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = client.post("/get-online-features", timeout=CLIENT_LIMIT_S, json={
        "entities": {"ticker": list(tickers)}, "feature_service": MOMENTUM_SERVICE})
    return answer, time.perf_counter() - started


def _side_routes_answer(client: httpx.Client) -> dict[str, float]:
    timings = {}
    for route in ("/health", "/metrics"):
        started = time.perf_counter()
        answer = client.get(route, timeout=SIDE_ROUTE_LIMIT_S)
        timings[route] = time.perf_counter() - started
        assert answer.status_code in (200, 503), answer.text
    return timings


def _until(condition, limit_s: float = 30.0) -> float:
    """Seconds until condition() holds (polled every 50 ms), or fail after limit_s."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if condition():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise AssertionError(f"not reached within {limit_s} s")


def _values(answer: httpx.Response) -> list:
    return [column["values"] for column in answer.json()["results"]]


def test_both_stores_down_answers_503_within_the_deadline_and_recovers(fault_server, own_postgres,
                                                                         private_redis):
    client = fault_server
    # The server runs on the real clock, so the stack's 2025 values are stale: the first
    # read settles that with a fill (tier warehouse), later ones are answered online.
    _until(lambda: _read(client, "AAPL")[0].headers.get("x-stockfeatures-tier") == "online")
    online, _ = _read(client, "AAPL")
    assert online.status_code == 200 and online.headers["x-stockfeatures-tier"] == "online"

    private_redis.kill()
    degraded, _ = _read(client, "AAPL")
    assert degraded.status_code == 200 and _values(degraded) == _values(online)
    cached, cached_s = _read(client, "AAPL")
    assert cached.headers["x-stockfeatures-tier"] == "cache" and _values(cached) == _values(online)

    own_postgres.kill()
    still_cached, _ = _read(client, "AAPL")  # the degraded tier needs neither store
    assert still_cached.status_code == 200 and _values(still_cached) == _values(online)
    refused, refused_s = _read(client, "NVDA")  # never served by this worker: not cached
    assert refused.status_code == 503 and refused.json()["error"] == "unavailable", refused.text
    again, again_s = _read(client, "NVDA")
    assert again.status_code == 503
    side = _side_routes_answer(client)
    assert client.get("/health", timeout=SIDE_ROUTE_LIMIT_S).json()["status"] == "down"

    own_postgres.start()
    pg_back_s = _until(lambda: _read(client, "NVDA")[0].status_code == 200)
    private_redis.start()  # empty: the first reads refill it
    redis_back_s = _until(
        lambda: _read(client, "AAPL")[0].headers.get("x-stockfeatures-tier") == "online")
    print(f"\nboth down (killed): cache hit {cached_s * 1000:.1f} ms; uncached read 503 in "
          f"{refused_s * 1000:.0f} ms, next {again_s * 1000:.0f} ms; /health "
          f"{side['/health'] * 1000:.0f} ms, /metrics {side['/metrics'] * 1000:.0f} ms; "
          f"recovered {pg_back_s:.2f} s after PostgreSQL start, {redis_back_s:.2f} s after Redis start")


def test_frozen_postgres_with_redis_down_still_answers_in_bounded_time(fault_server, own_postgres,
                                                                        private_redis):
    client = fault_server
    private_redis.kill()
    own_postgres.freeze()
    try:
        refused, refused_s = _read(client, "MSFT")
        assert refused.status_code == 503, refused.text
        again, again_s = _read(client, "MSFT")
        assert again.status_code == 503
        side = _side_routes_answer(client)
    finally:
        own_postgres.thaw()
    back_s = _until(lambda: _read(client, "MSFT")[0].status_code == 200)
    private_redis.start()
    _until(lambda: _read(client, "MSFT")[0].headers.get("x-stockfeatures-tier") == "online")
    print(f"\nPostgreSQL frozen, Redis down: read 503 in {refused_s * 1000:.0f} ms, next "
          f"{again_s * 1000:.0f} ms; /health {side['/health'] * 1000:.0f} ms, /metrics "
          f"{side['/metrics'] * 1000:.0f} ms; recovered {back_s:.2f} s after SIGCONT")


def test_postgres_restart_breaks_no_request(fault_server, own_postgres):
    client = fault_server
    params = {"features": "ret_1d,vol_20d", "as_of": "2025-06-01T00:00:00Z"}
    before = client.get("/features/AAPL", params=params, timeout=30)
    assert before.status_code == 200, before.text
    own_postgres.kill()
    own_postgres.start()
    statuses = []
    for _ in range(20):
        answer = client.get("/features/AAPL", params=params, timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            assert answer.json()["features"] == before.json()["features"]
    assert statuses == [200] * 20, statuses


def test_frozen_redis_sends_reads_to_the_degraded_tier_and_back(fault_server, private_redis):
    import os
    import signal

    client = fault_server
    _until(lambda: _read(client, "AAPL")[0].headers.get("x-stockfeatures-tier") == "online")
    online, _ = _read(client, "AAPL")
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        # Until the worker notices (its copy of online reads checks Redis' tracking every
        # 0.25 s; the first read to Redis pays its socket timeout), answers come from that
        # copy, which a frozen Redis cannot have changed; then from the degraded tier.
        frozen = time.monotonic()
        answers = []
        while not answers or answers[-1][0].headers["x-stockfeatures-tier"] != "cache":
            answers.append(_read(client, "AAPL"))
            assert time.monotonic() - frozen < 2.0, [a.headers for a, _ in answers]
        noticed_s = time.monotonic() - frozen
        assert all(a.status_code == 200 and _values(a) == _values(online) for a, _ in answers)
        assert {a.headers["x-stockfeatures-tier"] for a, _ in answers} <= {"online", "warehouse", "cache"}
        cached, cached_s = _read(client, "AAPL")
        assert cached.headers["x-stockfeatures-tier"] == "cache"
        side = _side_routes_answer(client)
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    back_s = _until(lambda: _read(client, "AAPL")[0].headers.get("x-stockfeatures-tier") == "online")
    print(f"\nRedis frozen: degraded tier after {noticed_s * 1000:.0f} ms ({len(answers)} reads, "
          f"slowest {max(s for _, s in answers) * 1000:.0f} ms), then {cached_s * 1000:.1f} ms a read; "
          f"/health {side['/health'] * 1000:.0f} ms, /metrics {side['/metrics'] * 1000:.0f} ms; "
          f"online again {back_s:.2f} s after SIGCONT")
