"""Fixed-width columns to and from PostgreSQL's binary formats with numpy, no Python rows.

Upload: the entity table holds only fixed-width values (row ordinal, integer codes of the join
keys, entity time), so a binary COPY stream is one numpy structured array.

Download: the whole result comes back as ONE row: for every column, `array_send(array_agg(x))`
plus `array_send(array_agg(x IS NULL))`, each a bytea. numpy gathers the values out of the
array's binary layout using the null mask to compute offsets. Text formatting of 4 million
doubles and 625k COPY chunks through Python cost more than the query itself; this costs a
memcpy. All array_agg calls sit in one aggregate without ORDER BY, so PostgreSQL feeds them
the same tuples in the same sequence and element i of every array belongs to one result row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from stockfeatures.offline.pit_sql import quote_ident

if TYPE_CHECKING:
    import psycopg

_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass(frozen=True)
class FixedType:
    width: int
    wire: str
    """numpy dtype of one element on the wire (big-endian)."""
    arrow: pa.DataType
    """Arrow type the stock store gives this PostgreSQL type (feast.type_map)."""


FIXED_TYPES: dict[int, FixedType] = {
    16: FixedType(1, "?", pa.bool_()),
    21: FixedType(2, ">i2", pa.int32()),
    23: FixedType(4, ">i4", pa.int32()),
    20: FixedType(8, ">i8", pa.int64()),
    700: FixedType(4, ">f4", pa.float32()),
    701: FixedType(8, ">f8", pa.float64()),
    1114: FixedType(8, ">i8", pa.timestamp("us")),
    1184: FixedType(8, ">i8", pa.timestamp("us")),
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


def aggregate_query(query: str, names: Sequence[str]) -> str:
    """One-row query: for each column, its values and its null flags as binary arrays."""
    parts = []
    for name in names:
        col = f"q.{quote_ident(name)}"
        parts.append(f"array_send(array_agg({col}))")
        parts.append(f"array_send(array_agg({col} IS NULL))")
    return f"SELECT {', '.join(parts)} FROM ({query}) AS q"


def _array_elements(payload: bytes) -> tuple[np.ndarray, int]:
    """(bytes after the header, element count) of a one-dimensional array_send payload."""
    buffer = np.frombuffer(payload, dtype=np.uint8)
    ndim = int.from_bytes(payload[0:4], "big")
    if ndim == 0:
        return buffer[12:], 0
    count = int.from_bytes(payload[12:16], "big")
    return buffer[20:], count


def decode_null_flags(payload: bytes) -> np.ndarray:
    body, count = _array_elements(payload)
    return body[: count * 5].reshape(count, 5)[:, 4].astype(bool)


def decode_fixed(payload: bytes, nulls: np.ndarray, kind: FixedType) -> pa.Array:
    """Values of an array_send payload whose null positions are known, as an Arrow array."""
    body, count = _array_elements(payload)
    width = kind.width
    sizes = np.where(nulls, 4, 4 + width)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) + 4
    present = starts[~nulls]
    gathered = body[present[:, None] + np.arange(width)].reshape(-1)
    values = np.zeros(count, dtype=np.dtype(kind.wire).newbyteorder("="))
    values[~nulls] = gathered.view(kind.wire)
    if pa.types.is_timestamp(kind.arrow):
        values = values + _PG_EPOCH_US
    mask = nulls if nulls.any() else None
    return pa.array(values, type=_storage(kind.arrow), mask=mask).cast(kind.arrow)


def _storage(arrow: pa.DataType) -> pa.DataType:
    return pa.int64() if pa.types.is_timestamp(arrow) else arrow


def fetch_fixed_columns(
    cur: psycopg.Cursor, query: str, columns: Sequence[tuple[str, int]]
) -> pa.Table:
    """Run `query` (all columns fixed-width, see FIXED_TYPES) and return it as Arrow."""
    names = [name for name, _ in columns]
    cur.execute(aggregate_query(query, names), binary=True)
    row = cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    arrays = []
    for i, (_, oid) in enumerate(columns):
        values, flags = row[2 * i], row[2 * i + 1]
        kind = FIXED_TYPES[oid]
        if values is None:  # no rows at all
            arrays.append(pa.array([], type=kind.arrow))
            continue
        arrays.append(decode_fixed(bytes(values), decode_null_flags(bytes(flags)), kind))
    return pa.Table.from_arrays(arrays, names=names)
