"""PostgreSQL connections that always speak UTC.

Every session runs with TimeZone=UTC so timestamptz text (COPY ... TO STDOUT) parses
unambiguously into datetime64[ns, UTC] without per-row Python work.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool

_UTC_OPTIONS = "-c TimeZone=UTC"


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=autocommit, options=_UTC_OPTIONS)


def open_pool(dsn: str, *, max_size: int = 4, timeout: float = 30.0,
              connect_timeout: float | None = None) -> ConnectionPool:
    """A small pool: serving threads read latest features concurrently, writes are rare.

    timeout: how long a caller waits for a connection (and for the pool to open);
    connect_timeout: libpq's per-attempt connect limit. Serving passes short ones so a
    down database costs a request a bounded wait, not psycopg_pool's default 30 s. A pool
    that cannot open is closed again: its workers would otherwise retry in the background.
    """
    kwargs: dict[str, object] = {"options": _UTC_OPTIONS}
    if connect_timeout is not None:
        kwargs["connect_timeout"] = max(1, round(connect_timeout))
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        kwargs=kwargs,
        timeout=timeout,
        open=False,
        name="stockfeatures-warehouse",
    )
    try:
        pool.open(wait=True, timeout=min(10.0, timeout))
    except BaseException:
        pool.close(timeout=0)
        raise
    return pool
