"""Builds a FeatureServer from Settings: the profile's stores plus serving's Redis client."""

from __future__ import annotations

import redis
from feast import FeatureStore
from redis.backoff import NoBackoff
from redis.retry import Retry

from stockfeatures.config import Settings
from stockfeatures.profiles import open_feature_store, open_warehouse
from stockfeatures.serving.freshness import Clock, utc_now
from stockfeatures.serving.options import ServingOptions, serving_options_from_env
from stockfeatures.serving.server import FeatureServer


def serving_redis(url: str, timeout_s: float) -> redis.Redis:
    """A client that fails fast: redis-py's default retries a refused connection 3 times
    with exponential backoff from 1 s, which would hold a request for seconds while Redis
    is down. One immediate retry still heals a pooled connection broken by a restart."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
    )


def fail_fast_feast_redis(store: FeatureStore, timeout_s: float) -> None:
    """Give Feast's own Redis client (used by write_to_online_store) the same timeouts.

    Feast builds it from the connection string with redis-py defaults (no socket timeout,
    retries with backoff); there is no yaml option for the retry policy, so set it here.
    """
    if store.config.online_store.type != "redis":
        return
    client = store._get_provider().online_store._get_client(store.config.online_store)
    client.connection_pool.connection_kwargs.update(
        socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
    client.set_retry(Retry(NoBackoff(), 1))


def serving_warehouse(settings: Settings, options: ServingOptions):
    """The profile's warehouse; for PostgreSQL with short waits (pg_timeout_s) so a down
    server costs a read a bounded wait instead of psycopg_pool's default 30 s."""
    if settings.profile == "local":
        return open_warehouse(settings)
    from stockfeatures.storage.postgres_warehouse import PostgresWarehouse

    return PostgresWarehouse(settings.pg_dsn, wait_timeout_s=options.pg_timeout_s,
                             connect_timeout_s=options.pg_timeout_s)


def open_feature_server(
    settings: Settings,
    options: ServingOptions | None = None,
    clock: Clock = utc_now,
) -> FeatureServer:
    options = options or serving_options_from_env()
    store = open_feature_store(settings)
    fail_fast_feast_redis(store, options.redis_timeout_s)
    return FeatureServer(
        store,
        serving_warehouse(settings, options),
        serving_redis(settings.redis_url, options.redis_timeout_s),
        benchmark=settings.benchmark_ticker,
        options=options,
        clock=clock,
        redis_url=settings.redis_url,
    )
