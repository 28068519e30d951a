"""The hit path on the event loop: Redis read with redis-py's asyncio client.

A fresh hit is one pipelined HMGET round trip plus microseconds of decoding. Handing it to a
read thread (as every read was) costs more than the read itself on a loaded 2-core box: the
thread hop, the GIL hand-over back to the loop, and the queueing of a burst of requests
behind a pool of threads. Waiting on an asyncio socket does not block the loop, so /health
and /metrics keep answering while Redis is slow; the socket timeout (redis_timeout_s) bounds
the wait and a failure trips the same breaker as the thread path. Everything else (first
sight of a request shape, misses that need a fill, the warehouse) still runs in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from stockfeatures.serving.online_reader import OnlineRows, RedisReader, decode_replies
from stockfeatures.serving.plan import ReadPlan


class AsyncRedisReader:
    """RedisReader's pipeline on an asyncio client; created inside the worker's loop."""

    def __init__(self, keys: RedisReader, url: str, timeout_s: float):
        self.keys = keys
        # Same fail-fast policy as serving_redis: one immediate retry heals a pooled
        # connection broken by a restart, and nothing backs off for seconds.
        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1))

    async def read(self, plan: ReadPlan, tickers: Sequence[str]) -> OnlineRows:
        pipe = self.client.pipeline(transaction=False)
        self.keys.queue(pipe.execute_command, plan, tickers)
        return decode_replies(plan, tickers, await pipe.execute())

    async def close(self) -> None:
        await self.client.aclose()
