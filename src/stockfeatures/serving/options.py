"""Serving knobs, read from environment variables in one place.

They are serving-only (limits, timeouts), so they live beside the server rather than in
stockfeatures.config; every variable has a default that suits a 2-core box.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from stockfeatures.config import ConfigError


@dataclass(frozen=True)
class ServingOptions:
    """max_batch: most tickers one request may ask for (more is a 4xx, not a slow 5xx).
    lock_ttl_ms: expiry of the per-ticker fill lock, so a dead holder frees it by itself.
    wait_timeout_s: how long a caller waits for another caller's fill before reading the
    warehouse itself. negative_ttl_s: how long "no newer data for this ticker" is remembered,
    so stale or unknown tickers do not send every request to the warehouse.
    redis_timeout_s: timeout of each of serving's Redis calls (a hung Redis trips the breaker).
    breaker_cooldown_s: how long a breaker (Redis's, PostgreSQL's) keeps its store out after a
    failure before one probe.
    read_timeout_s: the longest a read waits for an answer; past it the answer is 503, so a
    frozen store never holds a trading loop longer than this.
    pg_timeout_s: how long a warehouse read waits for a pooled connection (and libpq's
    connect limit, rounded up to whole seconds) before counting as a PostgreSQL failure.
    health_timeout_s: the longest /health waits for its store probes.
    max_body_bytes: the largest request body accepted; larger ones get 413 unread.
    read_threads: worker threads per process that run reads (the event loop never waits).
    push_timeout_s: the longest POST /push waits for its write (online and offline) before 503.
    intraday_grace_s: how long past one bar (5 minutes) an intraday value is still served as
    fresh during market hours (serving.intraday_freshness); 0 is allowed.
    hit_cache_keys: most Redis keys each worker keeps a copy of for fresh hits on the event
    loop (serving.hit_cache: exact, invalidated by Redis itself); 0 turns the copy off.
    """

    max_batch: int = 500
    lock_ttl_ms: int = 5000
    wait_timeout_s: float = 2.0
    negative_ttl_s: float = 30.0
    redis_timeout_s: float = 0.25
    breaker_cooldown_s: float = 1.0
    registry_refresh_s: float = 60.0
    read_timeout_s: float = 1.0
    pg_timeout_s: float = 0.5
    health_timeout_s: float = 0.08
    max_body_bytes: int = 1_000_000
    read_threads: int = 16
    push_timeout_s: float = 10.0
    intraday_grace_s: float = 60.0
    hit_cache_keys: int = 50_000


_ENV = {
    "max_batch": ("STOCKFEATURES_SERVING_MAX_BATCH", int),
    "lock_ttl_ms": ("STOCKFEATURES_SERVING_LOCK_TTL_MS", int),
    "wait_timeout_s": ("STOCKFEATURES_SERVING_WAIT_TIMEOUT_S", float),
    "negative_ttl_s": ("STOCKFEATURES_SERVING_NEGATIVE_TTL_S", float),
    "redis_timeout_s": ("STOCKFEATURES_SERVING_REDIS_TIMEOUT_S", float),
    "breaker_cooldown_s": ("STOCKFEATURES_SERVING_BREAKER_COOLDOWN_S", float),
    "registry_refresh_s": ("STOCKFEATURES_SERVING_REGISTRY_REFRESH_S", float),
    "read_timeout_s": ("STOCKFEATURES_SERVING_READ_TIMEOUT_S", float),
    "pg_timeout_s": ("STOCKFEATURES_SERVING_PG_TIMEOUT_S", float),
    "health_timeout_s": ("STOCKFEATURES_SERVING_HEALTH_TIMEOUT_S", float),
    "max_body_bytes": ("STOCKFEATURES_SERVING_MAX_BODY_BYTES", int),
    "read_threads": ("STOCKFEATURES_SERVING_READ_THREADS", int),
    "push_timeout_s": ("STOCKFEATURES_SERVING_PUSH_TIMEOUT_S", float),
    "intraday_grace_s": ("STOCKFEATURES_INTRADAY_GRACE_S", float),
    "hit_cache_keys": ("STOCKFEATURES_SERVING_HIT_CACHE_KEYS", int),
}
_ZERO_ALLOWED = {"intraday_grace_s", "hit_cache_keys"}


def serving_options_from_env() -> ServingOptions:
    values = {}
    for field_name, (variable, kind) in _ENV.items():
        raw = os.environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{variable}={raw!r} is not a {kind.__name__}") from None
        if value < 0 or (value == 0 and field_name not in _ZERO_ALLOWED):
            raise ConfigError(f"{variable}={raw!r} must be "
                              f"{'zero or more' if field_name in _ZERO_ALLOWED else 'positive'}")
        values[field_name] = value
    return ServingOptions(**values)
