"""Move columns between PostgreSQL and Arrow as CSV, never building Python rows.

Used for what binary_columns cannot carry (text) and for the small key dictionaries: pyarrow
reads and writes CSV in C++ and PostgreSQL parses it in C, whereas the stock store spends most
of its time in executemany INSERT and a Python loop that transposes fetched tuples. Float8 survives the trip exactly: PostgreSQL 12+ prints the
shortest text that reads back to the same double, and pyarrow parses it correctly rounded.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv

from stockfeatures.offline.binary_columns import FIXED_TYPES, fetch_fixed_columns
from stockfeatures.offline.pit_sql import quote_ident

if TYPE_CHECKING:
    import psycopg

# type oid -> Arrow type, as the stock store maps it (feast.type_map.pg_type_code_to_arrow)
_CSV_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int32(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    25: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us"),
}
_TIMESTAMPTZ = 1184


def copy_arrow_in(cur: psycopg.Cursor, table_name: str, table: pa.Table) -> None:
    """COPY an Arrow table into an existing table with the same column names."""
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    columns = ", ".join(quote_ident(name) for name in table.column_names)
    with cur.copy(f"COPY {quote_ident(table_name)} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())


def describe(cur: psycopg.Cursor, query: str) -> list[tuple[str, int]]:
    """(name, type oid) of every output column, from a plan-only execution."""
    cur.execute(f"SELECT * FROM ({query}) AS described LIMIT 0")
    if not cur.description:
        raise RuntimeError(f"query returns no columns: {query[:200]}")
    return [(col.name, col.type_code) for col in cur.description]


def fetch_arrow(cur: psycopg.Cursor, query: str) -> pa.Table:
    """Run a query and return its result as Arrow, typed like the stock store types it.

    Fixed-width results (numbers, booleans, timestamps) take the binary array path; text
    columns the CSV path; anything else (arrays, json, bytes, ...) psycopg rows: correct,
    only slower.
    """
    columns = describe(cur, query)
    if all(oid in FIXED_TYPES for _, oid in columns):
        return fetch_fixed_columns(cur, query, columns)
    if all(oid in _CSV_TYPES for _, oid in columns):
        return copy_arrow_out(cur, query, columns)
    return _fetch_rows(cur, query, columns)


def copy_arrow_out(cur: psycopg.Cursor, query: str, columns: list[tuple[str, int]]) -> pa.Table:
    """COPY the result out as CSV and parse it with pyarrow."""
    selected = ", ".join(
        # Emit timestamptz as UTC wall time: pyarrow cannot parse "+00" offsets, and the
        # stock store returns tz-naive UTC as well.
        f"({quote_ident(name)} AT TIME ZONE 'UTC') AS {quote_ident(name)}"
        if oid == _TIMESTAMPTZ
        else quote_ident(name)
        for name, oid in columns
    )
    buffer = io.BytesIO()
    with cur.copy(f"COPY (SELECT {selected} FROM ({query}) AS q) TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    names = [name for name, _ in columns]
    types = {name: _CSV_TYPES[oid] for name, oid in columns}
    schema = pa.schema([(name, types[name]) for name in names])
    if buffer.tell() == 0:
        return schema.empty_table()
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=any(pa.types.is_string(t) for t in types.values())
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    ).cast(schema)


def _fetch_rows(cur: psycopg.Cursor, query: str, columns: list[tuple[str, int]]) -> pa.Table:
    from feast.type_map import pg_type_code_to_arrow

    cur.execute(query)
    rows = cur.fetchall()
    arrays = [
        pa.array([row[i] for row in rows], type=pg_type_code_to_arrow(oid))
        for i, (_, oid) in enumerate(columns)
    ]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
