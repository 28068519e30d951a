"""Builds a FeatureServer from Settings: the profile's stores plus serving's Redis client.

The client is redis.Redis for `prod` and redis.cluster.RedisCluster for `cluster`; serving
uses only what both offer (pipelines, single-key scripts, GET/SET/EXISTS, PING), so nothing
above this module knows which one it holds.
"""

from __future__ import annotations

import redis
from feast import FeatureStore
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from stockfeatures.config import RedisClusterSettings, Settings
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


def serving_redis_cluster(cluster: RedisClusterSettings, timeout_s: float) -> RedisCluster:
    """A cluster client that fails fast, like serving_redis.

    RedisCluster's own retry (default 3 attempts with backoff from 1 s) re-reads the slot
    map after a connection error; one immediate retry keeps that (it is how a read finds a
    promoted replica after a failover) without holding a request for seconds while a
    master is down: the breaker serves from the warehouse instead.
    """
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster.nodes],
        username=cluster.username, password=cluster.password, ssl=cluster.ssl,
        socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
    )


def serving_client(settings: Settings, timeout_s: float) -> redis.Redis | RedisCluster:
    """Serving's own Redis client for the profile: a cluster client where the profile says so."""
    if settings.redis_cluster is not None:
        return serving_redis_cluster(settings.redis_cluster, timeout_s)
    return serving_redis(settings.redis_url, timeout_s)


def loop_redis_url(settings: Settings) -> str | None:
    """Where the event loop's asyncio client reads fresh hits (serving.async_reader), or None
    to keep every read in the read threads: on a Redis Cluster (the `cluster` profile) the
    hit path stays on the thread reader's cluster client."""
    return None if settings.redis_cluster is not None else settings.redis_url


def fail_fast_feast_redis(store: FeatureStore, timeout_s: float) -> None:
    """Give Feast's own Redis client (used by write_to_online_store) the same timeouts.

    Feast builds it from the connection string with redis-py defaults (no socket timeout,
    retries with backoff); there is no yaml option for the retry policy, so set it here.
    A RedisCluster holds one connection pool per node and makes new ones from its
    connection kwargs (after a failover too), so both are updated.
    """
    if store.config.online_store.type != "redis":
        return
    client = store._get_provider().online_store._get_client(store.config.online_store)
    timeouts = dict(socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    if isinstance(client, RedisCluster):
        client.get_connection_kwargs().update(timeouts)
        for node in client.get_nodes():
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.connection_kwargs.update(timeouts)
    else:
        client.connection_pool.connection_kwargs.update(timeouts)
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
        serving_client(settings, options.redis_timeout_s),
        benchmark=settings.benchmark_ticker,
        options=options,
        clock=clock,
        redis_url=loop_redis_url(settings),
    )
