"""The hit path on the event loop: Redis read with redis-py's asyncio client.

A fresh hit is one pipelined HMGET round trip plus microseconds of decoding. Handing it to a
read thread (as every read was) costs more than the read itself on a loaded 2-core box: the
thread hop, the GIL hand-over back to the loop, and the queueing of a burst of requests
behind a pool of threads. Waiting on an asyncio socket does not block the loop, so /health
and /metrics keep answering while Redis is slow; the socket timeout (redis_timeout_s) bounds
the wait and a failure trips the same breaker as the thread path. Everything else (first
sight of a request shape, misses that need a fill, the warehouse) still runs in a thread.

The HMGETs run inside Redis as one server-side script call per chunk of tickers
(EVALSHA through redis-py's Script, which reloads it after a restart): a 500-ticker read
was 1,000 pipelined commands, and packing and parsing them one by one in Python was most of
the request's time. The replies are the same HMGET arrays, in the same order, so
online_reader.decode_replies reads both paths alike. The cluster profile keeps the thread
reader (a script's keys must share one slot there).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from stockfeatures.serving.online_reader import OnlineRows, RedisReader, decode_replies
from stockfeatures.serving.plan import ReadPlan

# KEYS: one Feast hash per ticker. ARGV: the number of views, then per view its field count
# and fields. Returns HMGET's reply for every (key, view), keys outer, as RedisReader.queue.
MULTI_HMGET = """
local views, at = {}, 2
for v = 1, tonumber(ARGV[1]) do
  local count = tonumber(ARGV[at])
  views[v] = {unpack(ARGV, at + 1, at + count)}
  at = at + count + 1
end
local out = {}
for k = 1, #KEYS do
  for v = 1, #views do
    out[#out + 1] = redis.call('HMGET', KEYS[k], unpack(views[v]))
  end
end
return out
"""
# A script blocks Redis while it runs: at 1,000 tickers (2,000 HMGETs) about a millisecond.
TICKERS_PER_CALL = 1000


class AsyncRedisReader:
    """RedisReader's pipeline on an asyncio client; created inside the worker's loop."""

    def __init__(self, keys: RedisReader, url: str, timeout_s: float):
        self.keys = keys
        # Same fail-fast policy as serving_redis: one immediate retry heals a pooled
        # connection broken by a restart, and nothing backs off for seconds.
        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1))
        self.script = self.client.register_script(MULTI_HMGET)

    async def read(self, plan: ReadPlan, tickers: Sequence[str]) -> OnlineRows:
        args = [len(plan.views)]
        for view in plan.views:
            args += [len(view.fields), *view.fields]
        keys = [self.keys.key(ticker) for ticker in tickers]
        if len(keys) <= TICKERS_PER_CALL:
            return decode_replies(plan, tickers, await self.script(keys=keys, args=args))
        pipe = self.client.pipeline(transaction=False)
        for first in range(0, len(keys), TICKERS_PER_CALL):
            await self.script(keys=keys[first:first + TICKERS_PER_CALL], args=args, client=pipe)
        replies = [reply for chunk in await pipe.execute() for reply in chunk]
        return decode_replies(plan, tickers, replies)

    async def close(self) -> None:
        await self.client.aclose()
