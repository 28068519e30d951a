"""offline_write_batch: append an Arrow table to a PostgreSQLSource's table with binary COPY.

Stock Feast's PostgreSQL offline store does not implement it (OfflineStore raises
NotImplementedError), so `store.push(..., to=PushMode.OFFLINE)` and
`write_to_offline_store` fail there. Here the table is matched to the source table's columns
by name, every column is checked against the column's PostgreSQL type, and the rows go in as
one binary COPY stream built with numpy (binary_columns.copy_rows_in): no per-row INSERT,
no text formatting of numbers or timestamps.

Rows are only ever appended (the bitemporal contract: a correction is a new row with its own
created_timestamp), and the whole table goes in one transaction or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast.errors import ZeroColumnQueryResult
from feast.feature_view import FeatureView
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.repo_config import RepoConfig
from feast.type_map import pg_type_code_to_pg_type

from stockfeatures.offline.binary_columns import WireColumn, copy_rows_in, fixed_wire_column
from stockfeatures.offline.connections import offline_connection

_PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01


class OfflineWriteError(ValueError):
    """The rows cannot be appended to the feature view's source; nothing was written."""


class SourceNotWritable(OfflineWriteError):
    """The feature view's batch source is not a table this store can append to."""


class SchemaMismatch(OfflineWriteError):
    """The Arrow table's columns or types do not fit the source table's."""


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type_oid: int
    type_display: str


def source_table(feature_view: FeatureView) -> str:
    """The SQL name of the table behind the view's batch source, or a SourceNotWritable."""
    source = feature_view.batch_source
    if not isinstance(source, PostgreSQLSource):
        raise SourceNotWritable(
            f"feature view {feature_view.name!r} reads {type(source).__name__}; this offline "
            "store appends to PostgreSQLSource tables only"
        )
    # The source's serialized options are its public form (PostgreSQLSource exposes the
    # table only through private attributes).
    options = json.loads(source.to_proto().custom_options.configuration.decode("utf8"))
    if not options.get("table"):
        # A query has no single place to append to (it may join, filter or compute).
        raise SourceNotWritable(
            f"feature view {feature_view.name!r} reads PostgreSQLSource {source.name!r}, "
            "defined by `query`; offline writes need a source defined by `table=` "
            "(the table the rows are appended to)"
        )
    return options["table"]


def source_column_types(config: RepoConfig, source: PostgreSQLSource) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of every column of the source, as PostgreSQLSource reports them.

    On the store's pooled connection: the source's own method opens a new connection per
    call, and FeatureStore.write_to_offline_store (every push with an offline half) asks it
    once per write before offline_write_batch runs."""
    query = f"SELECT * FROM {source.get_table_query_string()} AS sub LIMIT 0"
    with offline_connection(config.offline_store) as conn, conn.cursor() as cur:
        cur.execute(query)
        if not cur.description:
            raise ZeroColumnQueryResult(query)
        return [(c.name, pg_type_code_to_pg_type(c.type_code)) for c in cur.description]


def target_columns(cur: Any, table_sql: str) -> list[TargetColumn]:
    """Name, type oid and type text of every column of the table, in table order."""
    cur.execute(f"SELECT * FROM {table_sql} LIMIT 0")
    return [TargetColumn(c.name, c.type_code, c.type_display) for c in cur.description]


def check_column_names(table: pa.Table, targets: list[TargetColumn], table_sql: str) -> None:
    """Refuse a table whose column names are not exactly the target's (order is free)."""
    given, expected = set(table.column_names), {t.name for t in targets}
    duplicated = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if given != expected or duplicated:
        # Same wording as FeatureStore.write_to_offline_store, so both layers read alike.
        raise SchemaMismatch(
            f"cannot append to {table_sql}: the columns do not match the table's. "
            f"missing_expected_columns: {sorted(expected - given)}, "
            f"extra_unexpected_columns: {sorted(given - expected)}"
            + (f", duplicated_columns: {duplicated}" if duplicated else "")
        )


def wire_column(name: str, values: pa.ChunkedArray | pa.Array, target: TargetColumn) -> WireColumn:
    """Convert one Arrow column to the binary COPY form of its PostgreSQL column's type."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_null(array.type):
        return WireColumn(np.full(len(array), -1, dtype=np.int64), np.zeros(0, np.uint8),
                          np.zeros(len(array), dtype=np.int64))
    encode = _ENCODERS.get(target.type_oid)
    if encode is None:
        raise SchemaMismatch(
            f"column {name!r} is {target.type_display} in PostgreSQL; offline writes support "
            f"{', '.join(sorted(_TYPE_NAMES.values()))}"
        )
    try:
        return encode(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as error:
        raise SchemaMismatch(
            f"column {name!r} holds {array.type}, which does not fit its PostgreSQL type "
            f"{target.type_display}: {error}"
        ) from error


def _nulls(array: pa.Array) -> np.ndarray | None:
    return array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None


def _require(array: pa.Array, target: TargetColumn, accepted: Callable[[pa.DataType], bool]) -> None:
    if not accepted(array.type):
        raise TypeError(f"{array.type} is not accepted for {target.type_display}")


def _fixed(arrow_type: pa.DataType, wire: str, accepted: Callable[[pa.DataType], bool],
           safe: bool = True) -> Callable[[pa.Array, TargetColumn], WireColumn]:
    def encode(array: pa.Array, target: TargetColumn) -> WireColumn:
        _require(array, target, accepted)
        cast = pc.cast(array, arrow_type, safe=safe)
        filled = pc.fill_null(cast, pa.scalar(False if arrow_type == pa.bool_() else 0, arrow_type))
        return fixed_wire_column(filled.to_numpy(zero_copy_only=False), wire, _nulls(array))

    return encode


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _timestamp(with_zone: bool) -> Callable[[pa.Array, TargetColumn], WireColumn]:
    def encode(array: pa.Array, target: TargetColumn) -> WireColumn:
        _require(array, target, pa.types.is_timestamp)
        if with_zone and array.type.tz is None:
            # A naive time is not an instant: storing it would guess its zone.
            raise TypeError(
                "timezone-naive timestamps cannot be stored as instants; give them a zone "
                "(e.g. pandas .dt.tz_localize('UTC'))"
            )
        # Arrow keeps UTC epoch values whatever the zone: for `timestamp` columns this
        # stores UTC wall time. PostgreSQL keeps microseconds; finer digits are dropped.
        micros = pc.cast(array, pa.timestamp("us", array.type.tz), safe=False).cast(pa.int64())
        values = pc.fill_null(micros, 0).to_numpy(zero_copy_only=False)
        return fixed_wire_column(values.astype("datetime64[us]"), ">i8", _nulls(array))

    return encode


def _date(array: pa.Array, target: TargetColumn) -> WireColumn:
    _require(array, target, pa.types.is_date)
    days = pc.cast(pc.cast(array, pa.date32()), pa.int32())
    values = pc.fill_null(days, 0).to_numpy(zero_copy_only=False).astype(np.int64) - _PG_EPOCH_DAYS
    return fixed_wire_column(values, ">i4", _nulls(array))


def _variable(array: pa.Array, as_type: pa.DataType) -> WireColumn:
    """Bytes of a string/binary array straight from its Arrow buffers (64-bit offsets)."""
    array = pc.cast(array, as_type)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    payload = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    nulls = _nulls(array)
    if nulls is not None:
        lengths = np.where(nulls, -1, lengths)
    return WireColumn(lengths.astype(np.int64), payload, offsets[:-1].astype(np.int64))


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _text(array: pa.Array, target: TargetColumn) -> WireColumn:
    _require(array, target, _is_text)
    return _variable(array, pa.large_string())


def _bytea(array: pa.Array, target: TargetColumn) -> WireColumn:
    _require(array, target, lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t))
    return _variable(array, pa.large_binary())


def _json_text(array: pa.Array) -> pa.Array:
    """JSON text of every value: strings are taken as JSON already, nested values dumped."""
    if _is_text(array.type):
        return array
    if not pa.types.is_nested(array.type):
        raise TypeError(f"{array.type} is not JSON text or a nested value")
    # Nested values have no vectorized JSON writer in Arrow; this is the one Python loop,
    # and only for map/struct/list columns. Maps come out of to_pylist as (key, value) pairs.
    is_map = pa.types.is_map(array.type)
    return pa.array(
        [None if v is None else json.dumps(dict(v) if is_map else v, default=str)
         for v in array.to_pylist()],
        type=pa.large_string(),
    )


def _json(binary_version: bool) -> Callable[[pa.Array, TargetColumn], WireColumn]:
    def encode(array: pa.Array, target: TargetColumn) -> WireColumn:
        text = pc.cast(_json_text(array), pa.large_string())
        if binary_version:
            # jsonb's binary input is a version byte (1) followed by the JSON text.
            version = pa.scalar("\x01", pa.large_string())
            text = pc.binary_join_element_wise(version, text, pa.scalar("", pa.large_string()))
        return _variable(text, pa.large_string())

    return encode


_TYPE_NAMES = {
    16: "boolean", 21: "smallint", 23: "integer", 20: "bigint", 700: "real",
    701: "double precision", 1082: "date", 1114: "timestamp", 1184: "timestamptz",
    25: "text", 1043: "varchar", 1042: "char", 114: "json", 3802: "jsonb", 17: "bytea",
}
_ENCODERS: dict[int, Callable[[pa.Array, TargetColumn], WireColumn]] = {
    16: _fixed(pa.bool_(), "?", pa.types.is_boolean),
    # Floats are accepted for integer columns because pandas turns an integer column with a
    # missing value into float64; the safe cast still refuses 1.5 or an overflow.
    21: _fixed(pa.int16(), ">i2", _is_number),
    23: _fixed(pa.int32(), ">i4", _is_number),
    20: _fixed(pa.int64(), ">i8", _is_number),
    # Writing a float column rounds to its precision, as PostgreSQL's own input would.
    700: _fixed(pa.float32(), ">f4", _is_number, safe=False),
    701: _fixed(pa.float64(), ">f8", _is_number, safe=False),
    1082: _date,
    1114: _timestamp(with_zone=False),
    1184: _timestamp(with_zone=True),
    25: _text, 1043: _text, 1042: _text,
    114: _json(binary_version=False),
    3802: _json(binary_version=True),
    17: _bytea,
}


def offline_write_batch(
    config: RepoConfig,
    feature_view: FeatureView,
    table: pa.Table,
    progress: Callable[[int], Any] | None,
) -> None:
    """Append `table` to the view's source table; columns by name, types checked first."""
    table_sql = source_table(feature_view)
    with offline_connection(config.offline_store) as conn, conn.cursor() as cur:
        targets = target_columns(cur, table_sql)
        check_column_names(table, targets, table_sql)
        columns = [wire_column(t.name, table.column(t.name), t) for t in targets]
        if table.num_rows:
            copy_rows_in(cur, table_sql, [t.name for t in targets], columns, progress=progress)
        conn.commit()
