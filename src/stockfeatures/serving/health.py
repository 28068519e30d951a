"""GET /health: can this server answer, and from where? Always within health_timeout_s.

ok: Redis and PostgreSQL answer. degraded: one of them does not, reads still succeed (from
the degraded tier when Redis is down, from Redis alone when PostgreSQL is down). down:
neither. Probes run in a small pool of their own, each bounded by health_timeout_s: a
frozen store shows as "error: no answer within ..." instead of holding the check (and a
load balancer's view of the server) for a connect timeout.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import psycopg

from stockfeatures.serving.server import FeatureServer


def _redis(server: FeatureServer) -> str:
    try:
        server.redis.ping()
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"


def _postgres(server: FeatureServer) -> str:
    dsn = getattr(server.warehouse, "dsn", None)
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"


def summarize(redis_state: str, pg_state: str) -> str:
    failing = [s for s in (redis_state, pg_state) if s.startswith("error")]
    used = [s for s in (redis_state, pg_state) if s != "not used"]
    if not failing:
        return "ok"
    return "down" if len(failing) == len(used) else "degraded"


class HealthProbes:
    def __init__(self, server: FeatureServer):
        self.server = server
        self.timeout_s = server.options.health_timeout_s
        self._executor = ThreadPoolExecutor(4, thread_name_prefix="health")

    async def _probe(self, check) -> str:
        future = asyncio.get_running_loop().run_in_executor(self._executor, check, self.server)
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            return f"error: no answer within {self.timeout_s * 1000:.0f} ms"

    async def report(self) -> dict:
        server = self.server
        uses_redis = server.store.config.online_store.type == "redis"
        uses_pg = getattr(server.warehouse, "dsn", None) is not None
        redis_state, pg_state = await asyncio.gather(
            self._probe(_redis) if uses_redis else _constant("not used"),
            self._probe(_postgres) if uses_pg else _constant("not used"),
        )
        return {
            "status": summarize(redis_state, pg_state),
            "redis": redis_state,
            "postgres": pg_state,
            "circuit_breaker": "open" if server.breaker.is_open else "closed",
            "postgres_circuit_breaker": "open" if server.warehouse_guard.breaker.is_open else "closed",
        }


async def _constant(value: str) -> str:
    return value
