"""Fixed-width columns to and from PostgreSQL's binary formats with numpy, no Python rows.

Upload: the entity table holds only fixed-width values (row ordinal, integer codes of the join
keys, entity time), so a binary COPY stream is one numpy structured array.

Download: every value is coalesced to a typed zero and the NULLs are reported in int8
bitmasks, so each binary COPY row has the same width and the whole stream is one
np.frombuffer with a structured big-endian dtype. Formatting 4 million doubles as text cost
more than the query itself; this costs a memcpy and a byte swap. (Shipping each column as
array_send(array_agg(x)) was measured too: one round trip, but ~1 s of aggregation at 625k.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter

from stockfeatures.offline.pit_sql import quote_ident
from stockfeatures.offline.row_layouts import grouped_rows_body

if TYPE_CHECKING:
    import psycopg

_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass(frozen=True)
class FixedType:
    zero: str
    """SQL literal standing in for NULL on the wire (the null bitmask says which is which)."""
    wire: str
    """numpy dtype of one element on the wire (big-endian)."""
    arrow: pa.DataType
    """Arrow type the stock store gives this PostgreSQL type (feast.type_map)."""


FIXED_TYPES: dict[int, FixedType] = {
    16: FixedType("false", "?", pa.bool_()),
    21: FixedType("0::int2", ">i2", pa.int32()),
    23: FixedType("0::int4", ">i4", pa.int32()),
    20: FixedType("0::int8", ">i8", pa.int64()),
    700: FixedType("0::float4", ">f4", pa.float32()),
    701: FixedType("0::float8", ">f8", pa.float64()),
    1114: FixedType("'epoch'::timestamp", ">i8", pa.timestamp("us")),
    1184: FixedType("'epoch'::timestamptz", ">i8", pa.timestamp("us")),
}


def binary_copy_payload(columns: Sequence[tuple[np.ndarray, str]]) -> bytes:
    """A COPY ... (FORMAT binary) stream of non-null fixed-width columns.

    columns: (values, wire dtype) pairs; timestamps must be given as datetime64[us] (UTC).
    """
    n = len(columns[0][0]) if columns else 0
    fields = [("count", ">i2")]
    for i, (_, wire) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"v{i}", wire)]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for i, (values, wire) in enumerate(columns):
        rows[f"len{i}"] = np.dtype(wire).itemsize
        if np.issubdtype(values.dtype, np.datetime64):
            values = values.astype("datetime64[us]").astype(np.int64) - _PG_EPOCH_US
        rows[f"v{i}"] = values
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def copy_binary_in(
    cur: psycopg.Cursor, table: str, names: Sequence[str], columns: Sequence[tuple[np.ndarray, str]]
) -> None:
    target = ", ".join(quote_ident(n) for n in names)
    with cur.copy(f"COPY {quote_ident(table)} ({target}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(binary_copy_payload(columns))


_NULL_BITS = 63  # null flags packed into one int8 per this many columns


def fixed_width_select(query: str, columns: Sequence[tuple[str, int]]) -> str:
    """The query with every value made non-null plus int8 null bitmasks: fixed-width rows."""
    parts = [
        f"coalesce(q.{quote_ident(name)}, {FIXED_TYPES[oid].zero})" for name, oid in columns
    ]
    for start in range(0, len(columns), _NULL_BITS):
        group = columns[start : start + _NULL_BITS]
        bits = " | ".join(
            f"((q.{quote_ident(name)} IS NULL)::int4::int8 << {bit})"
            for bit, (name, _) in enumerate(group)
        )
        parts.append(f"({bits})")
    return f"SELECT {', '.join(parts)} FROM ({query}) AS q"


def _row_dtype(columns: Sequence[tuple[str, int]]) -> np.dtype:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, (_, oid) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"v{i}", FIXED_TYPES[oid].wire)]
    for g in range((len(columns) + _NULL_BITS - 1) // _NULL_BITS):
        fields += [(f"masklen{g}", ">i4"), (f"mask{g}", ">i8")]
    return np.dtype(fields)


def decode_fixed_rows(payload: bytes, columns: Sequence[tuple[str, int]]) -> pa.Table:
    """Arrow columns out of a binary COPY stream produced by fixed_width_select."""
    row_dtype = _row_dtype(columns)
    header = len(_COPY_HEADER)
    body = memoryview(payload)[header : len(payload) - len(_COPY_TRAILER)]
    rows = np.frombuffer(body, dtype=row_dtype)
    arrays = []
    for i, (_, oid) in enumerate(columns):
        kind = FIXED_TYPES[oid]
        group, bit = divmod(i, _NULL_BITS)
        nulls = (rows[f"mask{group}"] >> bit) & 1 == 1
        values = rows[f"v{i}"].astype(np.dtype(kind.wire).newbyteorder("="))
        if pa.types.is_timestamp(kind.arrow):
            values = values + _PG_EPOCH_US
        storage = pa.int64() if pa.types.is_timestamp(kind.arrow) else kind.arrow
        array = pa.array(values, type=storage, mask=nulls if nulls.any() else None)
        arrays.append(array.cast(kind.arrow))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in columns])


def _copy_out(cur: psycopg.Cursor, statement: str) -> bytearray:
    """The whole COPY TO STDOUT stream, read straight from libpq.

    psycopg's Copy iterator goes through a generator and a wait loop for every row (one
    row = one chunk); at 625k rows that was 0.5 s of pure Python. psycopg.pq is psycopg's
    public libpq binding; the connection is left idle in the same transaction, as
    cursor.copy() would leave it.
    """
    from psycopg import pq

    pgconn = cur.connection.pgconn
    pgconn.send_query(statement.encode())
    result = pgconn.get_result()
    if result is None or result.status != pq.ExecStatus.COPY_OUT:
        message = (result.error_message if result else b"no result").decode(errors="replace")
        _drain(pgconn)
        raise PitQueryError(f"point-in-time query failed: {message.strip()}")
    # Each row is copied into one growing buffer at once: keeping the rows' own buffers
    # (libpq allocations behind memoryviews) for a final join cost 2.5 s instead of 0.7 s
    # for 780k rows (benchmarks/results/pit.md).
    payload = bytearray()
    get, extend = pgconn.get_copy_data, payload.extend
    while True:
        size, data = get(0)
        if size < 0:
            break
        extend(data)
    errors = [r.error_message for r in _drain(pgconn) if r.status != pq.ExecStatus.COMMAND_OK]
    if errors:
        raise PitQueryError(f"point-in-time query failed: {errors[0].decode(errors='replace').strip()}")
    return payload


def _drain(pgconn) -> list:
    results = []
    while (result := pgconn.get_result()) is not None:
        results.append(result)
    return results


class PitQueryError(RuntimeError):
    """PostgreSQL rejected or aborted the point-in-time query; the message is the server's."""


def fetch_fixed_columns(
    cur: psycopg.Cursor, query: str, columns: Sequence[tuple[str, int]]
) -> pa.Table:
    """Run `query` (all columns fixed-width, see FIXED_TYPES) and return it as Arrow."""
    payload = _copy_out(
        cur, f"COPY ({fixed_width_select(query, columns)}) TO STDOUT (FORMAT binary)"
    )
    if len(payload) <= len(_COPY_HEADER) + len(_COPY_TRAILER):
        return pa.Table.from_arrays(
            [pa.array([], type=FIXED_TYPES[oid].arrow) for _, oid in columns],
            names=[name for name, _ in columns],
        )
    return decode_fixed_rows(payload, columns)


@dataclass(frozen=True)
class WireColumn:
    """One column ready for a binary COPY row stream: the bytes of every value, end to end.

    lengths: bytes of each row's value, -1 for NULL; payload: the values' bytes back to back;
    starts: where each row's value begins in payload (ignored for NULL rows).
    """

    lengths: np.ndarray
    payload: np.ndarray
    starts: np.ndarray


def fixed_wire_column(values: np.ndarray, wire: str, nulls: np.ndarray | None) -> WireColumn:
    """A fixed-width column (values already cast to the column's type, nulls filled)."""
    width = np.dtype(wire).itemsize
    if np.issubdtype(values.dtype, np.datetime64):
        values = values.astype("datetime64[us]").astype(np.int64) - _PG_EPOCH_US
    payload = np.ascontiguousarray(values.astype(wire)).view(np.uint8)
    lengths = np.full(len(values), width, dtype=np.int64)
    if nulls is not None:
        lengths[nulls] = -1
    return WireColumn(lengths, payload, np.arange(len(values), dtype=np.int64) * width)


def copy_rows_in(
    cur: psycopg.Cursor,
    target_sql: str,
    names: Sequence[str],
    columns: Sequence[WireColumn],
    batch_rows: int = 65_536,
    progress: Callable[[int], object] | None = None,
) -> None:
    """Append the rows with one COPY ... FROM STDIN (FORMAT binary), in bounded batches.

    target_sql is the table as SQL text (a PostgreSQLSource's `table`, possibly
    schema-qualified); names are quoted here. Batches bound the index arrays below, not
    the transaction: the stream is one COPY, so a failure leaves no row behind.

    psycopg's QueuedLibpqWriter sends each batch from a worker thread, so the next batch is
    built here while the server is still ingesting the previous one (the server, not numpy,
    is the slower side of a feature write).
    """
    n = len(columns[0].lengths) if columns else 0
    target = ", ".join(quote_ident(name) for name in names)
    statement = f"COPY {target_sql} ({target}) FROM STDIN (FORMAT binary)"
    with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(_COPY_HEADER)
        for start in range(0, n, batch_rows):
            stop = min(start + batch_rows, n)
            batch = [
                WireColumn(c.lengths[start:stop], c.payload, c.starts[start:stop]) for c in columns
            ]
            copy.write(copy_rows_body(batch))
            if progress is not None:
                progress(stop - start)
        copy.write(_COPY_TRAILER)


def copy_rows_body(columns: Sequence[WireColumn]) -> bytes:
    """Rows of a COPY ... (FORMAT binary) stream, nullable and variable-width, built in numpy.

    Every row is int16 field count, then per field int32 length (-1 = NULL) and the bytes.
    Rows of a few layouts (row_layouts.py) are built as whole records, grouped by layout;
    otherwise in their order with scattered_rows_body.
    """
    if not columns or not len(columns[0].lengths):
        return b""
    grouped = grouped_rows_body(columns)
    return scattered_rows_body(columns) if grouped is None else grouped


def scattered_rows_body(columns: Sequence[WireColumn]) -> bytes:
    """copy_rows_body in row order: the layout is computed with cumulative sums and filled
    with fancy indexing byte by byte, so no Python code runs per row or per value."""
    n = len(columns[0].lengths)
    widths = [np.maximum(c.lengths, 0) for c in columns]
    row_sizes = 2 + 4 * len(columns) + np.sum(widths, axis=0)
    row_starts = np.concatenate(([0], np.cumsum(row_sizes)[:-1]))
    buffer = np.zeros(int(np.sum(row_sizes)), dtype=np.uint8)
    _scatter(buffer, row_starts, np.full(n, len(columns), dtype=">i2"))
    position = row_starts + 2
    for column, width in zip(columns, widths, strict=True):
        _scatter(buffer, position, column.lengths.astype(">i4"))
        position = position + 4
        present = width > 0
        sizes = width[present]
        if len(sizes):
            # Byte k of row r's value goes to position[r] + k and comes from starts[r] + k.
            first = np.cumsum(sizes) - sizes
            within = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(first, sizes)
            buffer[np.repeat(position[present], sizes) + within] = column.payload[
                np.repeat(column.starts[present], sizes) + within
            ]
        position = position + width
    return buffer.tobytes()


def _scatter(buffer: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    """Write one big-endian value per position (values' dtype gives the width)."""
    width = values.dtype.itemsize
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(-1, width)
    buffer[positions[:, None] + np.arange(width)] = raw
