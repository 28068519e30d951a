"""GET /health: can this server answer, and from where?

ok: Redis and PostgreSQL answer. degraded: one of them does not, reads still succeed (from
the warehouse when Redis is down, from Redis alone when PostgreSQL is down). down: neither.
"""

from __future__ import annotations

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
    if dsn is None:
        return "not used"
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"


def check_health(server: FeatureServer) -> dict:
    redis_state = _redis(server) if server.store.config.online_store.type == "redis" else "not used"
    pg_state = _postgres(server)
    failing = [s for s in (redis_state, pg_state) if s.startswith("error")]
    used = [s for s in (redis_state, pg_state) if s != "not used"]
    if not failing:
        status = "ok"
    elif len(failing) == len(used):
        status = "down"
    else:
        status = "degraded"
    return {
        "status": status,
        "redis": redis_state,
        "postgres": pg_state,
        "circuit_breaker": "open" if server.breaker.is_open else "closed",
    }
