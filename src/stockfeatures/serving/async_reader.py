"""The hit path on the event loop: Redis read with redis-py's asyncio client.

A fresh hit is one pipelined HMGET round trip plus microseconds of decoding. Handing it to a
read thread (as every read was) costs more than the read itself on a loaded 2-core box: the
thread hop, the GIL hand-over back to the loop, and the queueing of a burst of requests
behind a pool of threads. Waiting on an asyncio socket does not block the loop, so /health
and /metrics keep answering while Redis is slow; a timeout (redis_timeout_s) bounds the
wait and a failure trips the same breaker as the thread path. Everything else (first
sight of a request shape, misses that need a fill, the warehouse) still runs in a thread.

The HMGETs run inside Redis as one server-side script call per chunk of tickers
(EVALSHA through redis-py's Script, which reloads it after a restart): a 500-ticker read
was 1,000 pipelined commands, and packing and parsing them one by one in Python was most of
the request's time. Each plan has its own script with its views' fields written in, so a
call carries only the keys: packing the 16 field names of momentum_v1 as arguments of every
call was a tenth of a one-ticker hit's CPU. The replies are the same HMGET arrays, in the
same order, so online_reader.decode_replies reads both paths alike. The cluster profile
keeps the thread reader (a script's keys must share one slot there).

Hits that arrive together share one script call: the first read of a plan in a pass of the
event loop waits one loop pass, the reads of the same plan that become ready meanwhile (a
burst: hey's 20 connections fire at once, 10 per worker) join it, and the replies are split
back per read. Each Redis command costs the worker ~60 us of CPU in redis-py and the socket
(pool lock, packing, a write and a read syscall); ten reads in one command pay that once.
A read that arrives alone waits one loop pass, no more.

Before any of that, a read looks in the worker's copy of earlier reads (serving.hit_cache,
kept exact by Redis' own invalidation messages): a ticker read before and not written
since is answered without Redis at all.

The wait is bounded by asyncio.timeout (redis_timeout_s) around the call, not by the
client's socket_timeout: with a socket timeout redis-py sends every command through
asyncio.wait_for, a new Task per command. Cancelling a read in flight makes redis-py drop
that connection (it cannot know where the reply stopped), as a socket timeout does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from stockfeatures.serving.hit_cache import HitCache
from stockfeatures.serving.online_reader import OnlineRows, RedisReader, decode_replies
from stockfeatures.serving.plan import ReadPlan

# KEYS: one Feast hash per ticker; `views` (written in by plan_script): per view its
# fields. Returns HMGET's reply for every (key, view), keys outer, as RedisReader.queue.
_READ_VIEWS = """
local out = {}
for k = 1, #KEYS do
  for v = 1, #views do
    out[#out + 1] = redis.call('HMGET', KEYS[k], unpack(views[v]))
  end
end
return out
"""
_MAX_PLAN_SCRIPTS = 256


def plan_script(plan: ReadPlan) -> str:
    """The Lua script that reads `plan`'s views for the keys it is called with."""
    views = ", ".join("{" + ", ".join(_lua_string(name) for name in view.fields) + "}"
                      for view in plan.views)
    return f"local views = {{{views}}}{_READ_VIEWS}"


def _lua_string(name: bytes | str) -> str:
    """A Lua string literal of any bytes (Feast's field names are binary mmh3 digests)."""
    raw = name.encode() if isinstance(name, str) else name
    return '"' + "".join(f"\\{byte:03d}" for byte in raw) + '"'


# A script blocks Redis while it runs: at 1,000 tickers (2,000 HMGETs) about a millisecond.
TICKERS_PER_CALL = 1000


class _Batch:
    """Reads of one plan gathered in one loop pass: their keys, and where the replies go."""

    __slots__ = ("plan", "keys", "waiting")

    def __init__(self, plan: ReadPlan):
        self.plan = plan
        self.keys: list[bytes] = []
        self.waiting: asyncio.Future | None = None  # created when a second read joins


class AsyncRedisReader:
    """RedisReader's reads on an asyncio client; created inside the worker's loop."""

    def __init__(self, keys: RedisReader, url: str, timeout_s: float, cache_keys: int = 0):
        """cache_keys: size of the worker's copy of reads (serving.hit_cache); 0: none."""
        self.keys = keys
        self.timeout_s = timeout_s
        # Same fail-fast policy as serving_redis: one immediate retry heals a pooled
        # connection broken by a restart, and nothing backs off for seconds. No
        # socket_timeout: the call is bounded by asyncio.timeout (module doc). One
        # connection, not a pool: the pool's checkout (a readability probe of the socket)
        # and return were a sixth of a hit's calls, and the reads of a pass share one call
        # anyway; Redis runs scripts one at a time, so calls that queue here lose nothing.
        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=None, socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1), single_connection_client=True)
        self._gathering: dict[int, _Batch] = {}
        self._scripts: dict[int, tuple[ReadPlan, object]] = {}
        self.cache = HitCache(url, timeout_s, cache_keys) if cache_keys else None
        if self.cache is not None:
            self.cache.start()

    async def call(self, plan: ReadPlan, keys: list[bytes], client=None) -> list:
        """One script call reading `plan` for `keys` (queued on `client` when a pipeline)."""
        cached = self._scripts.get(id(plan))
        if cached is None or cached[0] is not plan:  # plans are long-lived: one script each
            if len(self._scripts) >= _MAX_PLAN_SCRIPTS:
                self._scripts.clear()
            cached = self._scripts[id(plan)] = (plan, self.client.register_script(plan_script(plan)))
        return await cached[1](keys=keys, client=client)

    async def read(self, plan: ReadPlan, tickers: Sequence[str]) -> OnlineRows:
        keys = [self.keys.key(ticker) for ticker in tickers]
        cache = self.cache
        if cache is None:
            return await self._read(plan, tickers, keys)
        rows = cache.get(plan, tickers, keys)
        if rows is None:
            generation = cache.generation
            rows = await self._read(plan, tickers, keys)
            cache.put(plan, tickers, keys, rows, generation)
        return rows

    async def _read(self, plan: ReadPlan, tickers: Sequence[str], keys: list[bytes]) -> OnlineRows:
        batch = self._gathering.get(id(plan))
        if batch is not None and batch.plan is plan and len(batch.keys) + len(keys) <= TICKERS_PER_CALL:
            return await self._join(batch, plan, tickers, keys)
        if len(keys) > TICKERS_PER_CALL:
            return decode_replies(plan, tickers, await self._call_chunked(plan, keys))
        batch = self._gathering[id(plan)] = _Batch(plan)
        batch.keys.extend(keys)
        try:
            try:
                await asyncio.sleep(0)  # one loop pass: reads of this plan ready now join
            finally:
                if self._gathering.get(id(plan)) is batch:
                    del self._gathering[id(plan)]
            async with asyncio.timeout(self.timeout_s):
                replies = await self.call(plan, batch.keys)
        except BaseException as error:
            if batch.waiting is not None:
                batch.waiting.set_exception(_for_joined(error))
                batch.waiting.exception()  # retrieved: a joined read may have gone already
            raise
        if batch.waiting is not None:
            batch.waiting.set_result(replies)
        return decode_replies(plan, tickers, replies[:len(keys) * len(plan.views)])

    async def _join(self, batch: _Batch, plan: ReadPlan, tickers: Sequence[str],
                    keys: list[bytes]) -> OnlineRows:
        first = len(batch.keys) * len(plan.views)
        batch.keys.extend(keys)
        if batch.waiting is None:
            batch.waiting = asyncio.get_running_loop().create_future()
        # shield: a joined read cancelled (its request ended) must not cancel the others'.
        replies = await asyncio.shield(batch.waiting)
        return decode_replies(plan, tickers, replies[first:first + len(keys) * len(plan.views)])

    async def _call_chunked(self, plan: ReadPlan, keys: list[bytes]) -> list:
        """More keys than one script call should hold: one call per chunk, one pipeline."""
        async with asyncio.timeout(self.timeout_s):
            pipe = self.client.pipeline(transaction=False)
            for first in range(0, len(keys), TICKERS_PER_CALL):
                await self.call(plan, keys[first:first + TICKERS_PER_CALL], client=pipe)
            return [reply for chunk in await pipe.execute() for reply in chunk]

    async def close(self) -> None:
        if self.cache is not None:
            await self.cache.stop()
        await self.client.aclose()


def _for_joined(error: BaseException) -> BaseException:
    """What the reads that joined a failed call see: the same error, or for a cancelled
    call (its own request ended) a connection error, so they take the fallback path."""
    if isinstance(error, Exception):
        return error
    return redis.ConnectionError("the shared online read was cancelled; read again")
