"""Fresh hits are answered on the event loop (serving.async_reader), not in a read thread.

Under a burst, every request used to queue for one of the worker's read threads, hits
included, behind fills and warehouse reads. These tests occupy every read thread and show
that a hit still answers, with the same values as the thread path, while a miss waits.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from stockfeatures.serving.http_app import TIER_HEADER, create_app
from tests.integration.serving.conftest import forget_online, make_server

pytestmark = pytest.mark.integration

ROUTE = "/features/{ticker}"


async def _get(app, ticker: str, timeout: float) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.wait_for(
            client.get(f"/features/{ticker}", params={"features": "ret_1d,vol_20d"}), timeout)


def _with_read_threads_busy(app, coroutine_factory):
    """Run coroutine_factory() while the app's only read thread is held, then release it."""
    release = threading.Event()
    app.runner.executor.submit(release.wait)
    try:
        return asyncio.run(coroutine_factory())
    finally:
        release.set()


def test_a_fresh_hit_answers_while_every_read_thread_is_busy(stack):
    server = make_server(stack, read_threads=1, read_timeout_s=2.0)
    app = create_app(server)
    # The first request of a shape resolves its plan in a thread (the registry may be
    # PostgreSQL); after that, hits of the shape stay on the loop.
    expected = asyncio.run(_get(app, "AAPL", 5.0))
    assert expected.status_code == 200 and expected.headers[TIER_HEADER] == "online"

    answer = _with_read_threads_busy(app, lambda: _get(app, "AAPL", 0.5))

    assert answer.status_code == 200, answer.text
    assert answer.headers[TIER_HEADER] == "online"
    assert answer.json() == expected.json()


def test_a_miss_still_goes_to_a_read_thread(stack):
    server = make_server(stack, read_threads=1, read_timeout_s=0.3)
    app = create_app(server)
    asyncio.run(_get(app, "AAPL", 5.0))
    forget_online(server, "MSFT")

    answer = _with_read_threads_busy(app, lambda: _get(app, "MSFT", 5.0))

    # The fill needs a thread, none is free: the deadline answers, the loop never blocks.
    assert answer.status_code == 503
    assert "within 0.3 s" in answer.json()["detail"]


@pytest.mark.parametrize("per_call", [1000, 2])
def test_the_loop_reader_returns_what_the_pipelined_hmgets_return(stack, monkeypatch, per_call):
    """One script call per chunk of tickers reads exactly the pipeline's replies: values,
    timestamps, tickers never written (all fields nil) and repeated tickers included."""
    from stockfeatures.features.spec import MOMENTUM_SERVICE
    from stockfeatures.serving import async_reader
    from stockfeatures.serving.warm_up import warm_up_store

    monkeypatch.setattr(async_reader, "TICKERS_PER_CALL", per_call)
    known = sorted(stack.warehouse.tickers())[:5]
    warm_up_store(stack.store, stack.warehouse, known)
    tickers = [*known, "NEVERWRITTEN", known[0]]
    server = make_server(stack)
    plan = server.plans.resolve(None, MOMENTUM_SERVICE)

    async def loop_read():
        reader = async_reader.AsyncRedisReader(server.reader, stack.settings.redis_url, 1.0)
        try:
            return await reader.read(plan, tickers)
        finally:
            await reader.close()

    threaded = server.reader.read(plan, tickers)
    assert asyncio.run(loop_read()) == threaded
    assert threaded["NEVERWRITTEN"] and all(
        stamp is None for stamp, _ in threaded["NEVERWRITTEN"].values())
    assert all(stamp is not None for stamp, _ in threaded[known[0]].values())


def _counting_calls(reader) -> list[int]:
    """Wrap reader.call to record how many keys each Redis call carried."""
    calls: list[int] = []
    call = reader.call

    async def counted(plan, keys, client=None):
        calls.append(len(keys))
        return await call(plan, keys, client=client)

    reader.call = counted
    return calls


def test_concurrent_hits_of_one_plan_share_one_redis_call_and_get_their_own_rows(stack):
    """A burst of reads ready in the same loop pass is one script call; each read gets
    exactly what it would have read alone (its tickers, in its order, repeats kept)."""
    from stockfeatures.features.spec import MOMENTUM_SERVICE
    from stockfeatures.serving import async_reader
    from stockfeatures.serving.warm_up import warm_up_store

    known = sorted(stack.warehouse.tickers())[:4]
    warm_up_store(stack.store, stack.warehouse, known)
    server = make_server(stack)
    plan = server.plans.resolve(None, MOMENTUM_SERVICE)
    asks = [[known[0]], [known[1], known[2]], ["NEVERWRITTEN"], [known[3], known[0]], [known[1]]]

    async def burst():
        reader = async_reader.AsyncRedisReader(server.reader, stack.settings.redis_url, 1.0)
        calls = _counting_calls(reader)
        try:
            together = await asyncio.gather(*(reader.read(plan, tickers) for tickers in asks))
            alone = [await reader.read(plan, tickers) for tickers in asks]
            return together, alone, calls
        finally:
            await reader.close()

    together, alone, calls = asyncio.run(burst())
    assert together == alone == [server.reader.read(plan, tickers) for tickers in asks]
    assert calls[0] == sum(len(tickers) for tickers in asks)  # the burst: one call
    assert len(calls) == 1 + len(asks)  # then one call per read made alone


def test_a_failed_shared_call_reaches_every_read_that_joined_it(stack):
    """Redis unreachable: every read of the burst raises (each takes its fallback path);
    none hangs waiting for a call that will never answer."""
    import redis

    from stockfeatures.features.spec import MOMENTUM_SERVICE
    from stockfeatures.serving import async_reader

    server = make_server(stack)
    plan = server.plans.resolve(None, MOMENTUM_SERVICE)

    async def burst():
        reader = async_reader.AsyncRedisReader(server.reader, "redis://127.0.0.1:1/0", 0.5)
        try:
            return await asyncio.wait_for(asyncio.gather(
                *(reader.read(plan, [ticker]) for ticker in ("AAPL", "MSFT", "SPY")),
                return_exceptions=True), 5.0)
        finally:
            await reader.close()

    outcomes = asyncio.run(burst())
    assert len(outcomes) == 3
    assert all(isinstance(o, redis.ConnectionError | ConnectionError | OSError) for o in outcomes), outcomes


def test_reads_that_joined_a_cancelled_read_are_answered_not_left_waiting(stack):
    """The read that gathers a batch is cancelled (its request ended) before its call: the
    reads that joined it get a connection error (their fallback path) instead of hanging."""
    import redis

    from stockfeatures.features.spec import MOMENTUM_SERVICE
    from stockfeatures.serving import async_reader

    server = make_server(stack)
    plan = server.plans.resolve(None, MOMENTUM_SERVICE)

    async def cancel_the_first():
        reader = async_reader.AsyncRedisReader(server.reader, stack.settings.redis_url, 1.0)
        try:
            first = asyncio.create_task(reader.read(plan, ["AAPL"]))
            joined = asyncio.create_task(reader.read(plan, ["MSFT"]))
            await asyncio.sleep(0)  # both started: the first waits its loop pass, MSFT joined
            first.cancel()
            outcome = await asyncio.wait_for(asyncio.gather(joined, return_exceptions=True), 2.0)
            later = await reader.read(plan, ["MSFT"])  # nothing is left gathering
            return outcome[0], later
        finally:
            await reader.close()

    outcome, later = asyncio.run(cancel_the_first())
    assert isinstance(outcome, redis.ConnectionError), outcome
    assert later == server.reader.read(plan, ["MSFT"])
