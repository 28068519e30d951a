"""Pooled PostgreSQL connections for the offline store (offline_write_batch and the
point-in-time read), one small pool per store config.

Feast's PostgreSQL store opens a new connection on every call, through a private helper.
A push writes a handful of rows, so that connect was most of the offline half's cost
(about 20 ms of a 47 ms push, benchmarks/results/intraday.md). The conninfo is built from
the config's public settings the way Feast builds it (search_path: db_schema, then public).
Pools are per process, so a forked worker never shares a parent's sockets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

_POOLS: dict[tuple[int, str], ConnectionPool] = {}
_LOCK = threading.Lock()
MAX_CONNECTIONS = 4


def conninfo(config) -> str:
    """libpq conninfo for a Feast PostgreSQLConfig (unset TLS paths are left out)."""
    search_path = (config.db_schema or config.user).strip()
    if search_path != "public":
        search_path += ",public"
    return make_conninfo(
        "", user=config.user, password=config.password, host=config.host,
        port=int(config.port), dbname=config.database, sslmode=config.sslmode,
        sslkey=config.sslkey_path, sslcert=config.sslcert_path,
        sslrootcert=config.sslrootcert_path, keepalives_idle=config.keepalives_idle,
        options=f"-c search_path={search_path}",
    )


def pool_for(config) -> ConnectionPool:
    key = (os.getpid(), conninfo(config))
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            # check: a connection broken by a server restart is replaced, not handed out.
            # One more than the PIT read's parallel sessions, so a write never waits for them.
            size = max(MAX_CONNECTIONS, int(getattr(config, "parallel_sessions", 0)) + 1)
            pool = ConnectionPool(key[1], min_size=0, max_size=size, open=True,
                                  check=ConnectionPool.check_connection,
                                  name=f"stockfeatures-offline-{len(_POOLS)}")
            _POOLS[key] = pool
    return pool


@contextmanager
def offline_connection(config) -> Iterator[psycopg.Connection]:
    """A pooled connection: committed on success, rolled back on error, then returned."""
    with pool_for(config).connection() as conn:
        yield conn
