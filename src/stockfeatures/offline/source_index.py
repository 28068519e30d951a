"""Make sure every lateral lookup can descend an index on (join keys..., event time).

Without such an index each lookup scans the whole source, which turns a 5-second query into
hours. A table source that has one is used as is; any other source (a query, or a table
without the index) is first copied, columns and time range trimmed, into a temporary table
that gets the index. That costs one pass over the source and keeps the plan index-driven.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from stockfeatures.offline.pit_sql import LateralJoin, SourceRead, quote_ident

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)


def _index_columns_sql(read: SourceRead) -> list[str]:
    return [src for src, _ in read.key_pairs] + [read.timestamp_field]


def recommended_index_sql(table: str, read: SourceRead) -> str:
    """The index a table source should have; logged when it is missing."""
    columns = ", ".join(quote_ident(c) for c in _index_columns_sql(read))
    return f"CREATE INDEX ON {table} ({columns})"


def has_pit_index(cur: psycopg.Cursor, table: str, read: SourceRead) -> bool:
    """True when some valid btree index starts with the join keys (any order), then the time."""
    cur.execute("SELECT to_regclass(%s)::oid", (table,))
    row = cur.fetchone()
    if row is None or row[0] is None:
        return False
    cur.execute(
        """
        SELECT array_agg(a.attname ORDER BY k.ord)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = %s AND i.indisvalid AND i.indpred IS NULL
        GROUP BY i.indexrelid
        """,
        (row[0],),
    )
    keys = {src for src, _ in read.key_pairs}
    for (columns,) in cur.fetchall():
        leading = columns[: len(keys)]
        if set(leading) == keys and columns[len(keys) : len(keys) + 1] == [read.timestamp_field]:
            return True
    return False


def _is_plain_table(table: str) -> bool:
    return not table.lstrip().startswith("(")


def _materialize(cur: psycopg.Cursor, join: LateralJoin, columns: list[str]) -> str:
    read = join.read
    name = f"_sf_pit_source_{uuid.uuid4().hex[:12]}"
    selected = ", ".join(quote_ident(c) for c in columns)
    cur.execute(
        f"CREATE TEMPORARY TABLE {quote_ident(name)} ON COMMIT DROP AS "
        f"SELECT {selected} FROM {read.table} AS s"
    )
    index_columns = ", ".join(quote_ident(c) for c in _index_columns_sql(read))
    cur.execute(f"CREATE INDEX ON {quote_ident(name)} ({index_columns})")
    cur.execute(f"ANALYZE {quote_ident(name)}")
    return quote_ident(name)


def indexed_reads(cur: psycopg.Cursor, joins: Sequence[LateralJoin]) -> list[LateralJoin]:
    """The same joins, each reading a source that has the (keys, time) index."""
    result: list[LateralJoin] = []
    copies: dict[str, str] = {}
    for join in joins:
        read = join.read
        if _is_plain_table(read.table) and has_pit_index(cur, read.table, read):
            result.append(join)
            continue
        if _is_plain_table(read.table):
            logger.warning(
                "source %s has no index for point-in-time lookups; copying it into an indexed "
                "temporary table for this query. Create it once with: %s",
                read.table,
                recommended_index_sql(read.table, read),
            )
        same_table = [j for j in joins if j.read.table == read.table]
        needed = list(
            dict.fromkeys(
                column
                for j in same_table
                for column in (
                    *_index_columns_sql(j.read),
                    *([j.read.created_timestamp_column] if j.read.created_timestamp_column else []),
                    *(col.source for col in j.columns),
                )
            )
        )
        key = read.table + "|" + ",".join(_index_columns_sql(read))
        if key not in copies:
            copies[key] = _materialize(cur, join, needed)
        result.append(replace(join, read=replace(read, table=copies[key])))
    return result
