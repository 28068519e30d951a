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


def open_pool(dsn: str, *, max_size: int = 4) -> ConnectionPool:
    """A small pool: serving threads read latest features concurrently, writes are rare."""
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        kwargs={"options": _UTC_OPTIONS},
        open=False,
        name="stockfeatures-warehouse",
    )
    pool.open(wait=True, timeout=10)
    return pool
