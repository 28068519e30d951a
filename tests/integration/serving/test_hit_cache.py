"""The worker's copy of online reads (serving.hit_cache) against real Redis: a value written
is served at once, by the copy's invalidation, and the copy is off whenever tracking is."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest
import redis

from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.serving.async_reader import AsyncRedisReader
from tests.integration.serving.conftest import RedisProcess, make_server

pytestmark = pytest.mark.integration

TICKER = "HITCACHE"  # a ticker of this test's own: no other test reads or writes it
VIEWS = ("returns_daily", "risk_daily")


def _write(stack, value: float, when: pd.Timestamp) -> None:
    """One row per view for TICKER through Feast, as materialize and lazy fills write."""
    for view in VIEWS:
        columns = [f.name for f in stack.store.get_feature_view(view).features]
        stack.store.write_to_online_store(view, pd.DataFrame({
            "ticker": [TICKER], "event_timestamp": [when], "created_timestamp": [pd.Timestamp.now(tz="UTC")],
            **{c: [value] for c in columns}}))


def _value(rows) -> float:
    return rows[TICKER]["returns_daily"][1]["ret_5d"]


async def _until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.fixture
def reading(stack):
    server = make_server(stack)
    client = server.redis
    yield stack, server, server.plans.resolve(None, MOMENTUM_SERVICE)
    client.delete(server.reader.key(TICKER))


def test_a_value_written_right_after_a_read_is_the_next_read(reading):
    stack, server, plan = reading
    first = pd.Timestamp("2025-06-30 20:00", tz="UTC")

    async def scenario():
        reader = AsyncRedisReader(server.reader, server.redis_url, 0.25, cache_keys=1000)
        await _until(lambda: reader.cache.on)
        _write(stack, 1.0, first)
        await reader.read(plan, [TICKER])
        await reader.read(plan, [TICKER])
        key = [server.reader.key(TICKER)]
        assert reader.cache.get(plan, [TICKER], key) is not None  # kept: the next read skips Redis
        waiting_after_write = 0
        for step in range(1, 61):
            # The write blocks this loop, as another process's write would be unseen by it:
            # the invalidation is still in the socket when the read starts.
            _write(stack, 1.0 + step, first + pd.Timedelta(minutes=step))
            waiting_after_write += reader.cache.invalidation_waiting()
            assert _value(await reader.read(plan, [TICKER])) == 1.0 + step
            assert _value(await reader.read(plan, [TICKER])) == 1.0 + step
        await reader.close()
        return waiting_after_write

    # Redis sent every write's invalidation before the writer's reply reached the writer.
    assert asyncio.run(scenario()) == 60


def test_a_deleted_key_and_a_flush_are_not_served_from_the_copy(reading):
    stack, server, plan = reading

    async def scenario():
        reader = AsyncRedisReader(server.reader, server.redis_url, 0.25, cache_keys=1000)
        await _until(lambda: reader.cache.on)
        _write(stack, 7.0, pd.Timestamp("2025-06-30 20:00", tz="UTC"))
        assert _value(await reader.read(plan, [TICKER])) == 7.0
        server.redis.delete(server.reader.key(TICKER))
        assert (await reader.read(plan, [TICKER]))[TICKER]["returns_daily"][0] is None
        await reader.close()

    asyncio.run(scenario())


def test_a_read_racing_a_write_is_not_kept(reading):
    stack, server, plan = reading
    _write(stack, 3.0, pd.Timestamp("2025-06-30 20:00", tz="UTC"))

    async def scenario():
        reader = AsyncRedisReader(server.reader, server.redis_url, 0.25, cache_keys=1000)
        await _until(lambda: reader.cache.on)
        keys = [server.reader.key(TICKER)]
        generation = reader.cache.generation
        rows = await reader._read(plan, [TICKER], keys)  # a read in flight ...
        _write(stack, 4.0, pd.Timestamp("2025-07-01 20:00", tz="UTC"))  # ... a write lands
        await _until(lambda: reader.cache.generation != generation)
        reader.cache.put(plan, [TICKER], keys, rows, generation)
        assert reader.cache.get(plan, [TICKER], keys) is None
        assert _value(await reader.read(plan, [TICKER])) == 4.0
        await reader.close()

    asyncio.run(scenario())


def test_the_copy_is_off_while_tracking_is_and_back_after(stack):
    own = RedisProcess()
    own.start()
    try:
        server = make_server(stack)
        plan = server.plans.resolve(None, MOMENTUM_SERVICE)

        async def scenario():
            reader = AsyncRedisReader(server.reader, own.url, 0.25, cache_keys=1000)
            await _until(lambda: reader.cache.on)
            admin = redis.Redis(port=own.port)
            tracking = [c for c in admin.client_list() if c["name"].startswith("stockfeatures-tracking")]
            admin.client_kill_filter(_id=tracking[0]["id"])  # only Redis' side knows
            await _until(lambda: not reader.cache.on, timeout_s=2.0)
            await _until(lambda: reader.cache.on)  # set up again by itself
            own.kill()
            await _until(lambda: not reader.cache.on, timeout_s=1.0)
            with pytest.raises((redis.ConnectionError, OSError)):
                await reader.read(plan, [TICKER])
            own.start()
            await _until(lambda: reader.cache.on, timeout_s=10.0)
            await reader.close()

        asyncio.run(scenario())
    finally:
        own.kill()


def test_the_copy_can_be_turned_off(reading, monkeypatch):
    from stockfeatures.serving.options import serving_options_from_env

    _, server, _ = reading
    monkeypatch.setenv("STOCKFEATURES_SERVING_HIT_CACHE_KEYS", "0")
    keys = serving_options_from_env().hit_cache_keys
    assert keys == 0

    async def scenario():
        reader = AsyncRedisReader(server.reader, server.redis_url, 0.25, cache_keys=keys)
        assert reader.cache is None
        await reader.close()

    asyncio.run(scenario())
