"""Validated frames to PostgreSQL as binary COPY, with offline_write's column encoders.

CSV COPY formatted every double as text in Arrow and parsed it back in PostgreSQL; the
binary form sends the 8 bytes of each double (exact by construction) and of each timestamp,
built in numpy by stockfeatures.offline.binary_columns, so no value is formatted or parsed.
Types come from the TableSchema (the one description of the tables), not from a catalogue
query per write.
"""

from __future__ import annotations

import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import sql

from stockfeatures.offline.binary_columns import copy_rows_in
from stockfeatures.offline.offline_write import TargetColumn, wire_column
from stockfeatures.storage.postgres_sql import sql_type
from stockfeatures.storage.tables import EVENT, TableSchema

# Type oid and display name of each column type postgres_sql.sql_type names.
_WIRE_TYPES = {"timestamptz": (1184, "timestamp with time zone"), "date": (1082, "date"),
               "text": (25, "text"), "float8": (701, "double precision")}


def _target(column: str, schema: TableSchema) -> TargetColumn:
    return TargetColumn(column, *_WIRE_TYPES[sql_type(column, schema)])


def copy_rows(cur: psycopg.Cursor, target: str, rows: pd.DataFrame, schema: TableSchema) -> None:
    """COPY the validated rows into `target` (a table name) in one binary stream.

    NaN becomes NULL on the way (Arrow's from_pandas), as the CSV path wrote it.
    """
    table = pa.Table.from_pandas(rows[list(schema.columns)], preserve_index=False)
    for column in schema.dates:
        position = table.schema.get_field_index(column)
        table = table.set_column(position, column, table[column].cast(pa.date32()))
    targets = [_target(c, schema) for c in schema.columns]
    columns = [wire_column(t.name, table.column(t.name), t) for t in targets]
    copy_rows_in(cur, sql.Identifier(target).as_string(cur), list(schema.columns), columns)


def only_new_facts(cur: psycopg.Cursor, rows: pd.DataFrame, schema: TableSchema) -> bool:
    """True when no stored row shares a fact key with `rows` and each key appears once.

    Then every row is a fact's first version (the version rules keep it whatever its values),
    so the rows can be copied straight into the table with no anti-join: a first load, or a
    compute window after the stored ones. Checked per ticker over its event_timestamp range
    with the primary key's index; only for tables keyed by (ticker, event_timestamp).
    """
    if tuple(schema.key) != ("ticker", EVENT) or rows.duplicated(list(schema.key)).any():
        return False
    spans = rows.groupby("ticker", sort=False)[EVENT].agg(["min", "max"])
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) "
        "AS r(ticker, lo, hi) WHERE EXISTS (SELECT 1 FROM {} AS s WHERE s.ticker = r.ticker "
        "AND s.{} BETWEEN r.lo AND r.hi))"
    ).format(sql.Identifier(schema.name), sql.Identifier(EVENT))
    lows = [t.to_pydatetime() for t in spans["min"]]
    highs = [t.to_pydatetime() for t in spans["max"]]
    cur.execute(query, (list(spans.index), lows, highs))
    return not cur.fetchone()[0]
