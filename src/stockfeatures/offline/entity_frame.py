"""Entity frame in, entity frame out: the conversions on both sides of the database.

Only the join keys and the entity time travel to PostgreSQL (with a row ordinal); every other
entity column stays in memory and is put back next to the features. Output columns take the
same Arrow types the stock store gives back after its round trip through PostgreSQL:
timestamps as tz-naive UTC microseconds, the rest as pyarrow infers them from pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stockfeatures.offline.pit_sql import ROW_COLUMN, TIMESTAMP_COLUMN, quote_ident


class EntityFrameError(ValueError):
    """The entity frame cannot be used for a point-in-time query; the message says why."""


def utc_microseconds(values: pd.Series) -> pa.Array:
    """Entity times as timestamp[us, UTC].

    Aware times are converted; naive times are taken as UTC (Feast's convention, and what the
    stock store does on a server whose TimeZone is UTC); strings are parsed as ISO 8601.
    """
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        try:
            values = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise EntityFrameError(
                f"entity column {values.name!r} must hold timestamps; {exc}"
            ) from exc
    elif values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    else:
        values = values.dt.tz_convert("UTC")
    if values.isna().any():
        raise EntityFrameError(
            f"entity column {values.name!r} has {int(values.isna().sum())} missing timestamps; "
            "every entity row needs a time to be point-in-time joined"
        )
    return pa.array(values.astype("datetime64[us, UTC]"))


def _key_array(values: pd.Series) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array


def entity_keys_table(
    entity_df: pd.DataFrame, join_keys: Sequence[str], timestamp_column: str
) -> pa.Table:
    """Row ordinal, join keys and UTC entity time, sorted by (keys, time).

    Sorting makes consecutive lateral lookups walk neighbouring index pages; the ordinal
    restores the caller's order afterwards.
    """
    missing = [col for col in (*join_keys, timestamp_column) if col not in entity_df.columns]
    if missing:
        raise EntityFrameError(
            f"entity frame lacks column(s) {missing}; it has {list(entity_df.columns)}"
        )
    columns: dict[str, pa.Array] = {
        ROW_COLUMN: pa.array(np.arange(len(entity_df), dtype=np.int64))
    }
    for key in join_keys:
        columns[key] = _key_array(entity_df[key])
    columns[TIMESTAMP_COLUMN] = utc_microseconds(entity_df[timestamp_column])
    table = pa.table(columns)
    order = [(key, "ascending") for key in join_keys] + [(TIMESTAMP_COLUMN, "ascending")]
    return table.take(pc.sort_indices(table, sort_keys=order))


def temp_table_ddl(name: str, keys: pa.Table) -> str:
    """CREATE TEMPORARY TABLE for the uploaded keys, dropped when the transaction ends."""
    from feast.type_map import arrow_to_pg_type

    columns = []
    for field in keys.schema:
        if field.name == TIMESTAMP_COLUMN:
            pg_type = "timestamptz"
        else:
            try:
                pg_type = arrow_to_pg_type(str(field.type))
            except ValueError as exc:
                raise EntityFrameError(
                    f"entity column {field.name!r} has type {field.type}, which PostgreSQL "
                    "join keys cannot take; use strings or integers"
                ) from exc
        columns.append(f"{quote_ident(field.name)} {pg_type}")
    return (
        f"CREATE TEMPORARY TABLE {quote_ident(name)} ({', '.join(columns)}) ON COMMIT DROP"
    )


def output_entity_columns(entity_df: pd.DataFrame) -> pa.Table:
    """The caller's entity columns, typed like the stock store returns them."""
    # Without the pandas metadata: it would restore the input's timezone in to_pandas().
    table = pa.Table.from_pandas(entity_df, preserve_index=False).replace_schema_metadata(None)
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_timestamp(field.type):
            # Stored data is UTC for aware types; dropping tz keeps the UTC wall time.
            column = column.cast(pa.timestamp("us"), safe=False)
        elif pa.types.is_large_string(field.type) or pa.types.is_string_view(field.type):
            column = column.cast(pa.string())
        else:
            continue
        table = table.set_column(i, pa.field(field.name, column.type), column)
    return table


def restore_order(features: pa.Table, row_count: int) -> pa.Table:
    """Put fetched rows back in entity-frame order using the ordinal column, then drop it."""
    rows = features.column(ROW_COLUMN).to_numpy()
    if len(rows) != row_count:
        raise RuntimeError(
            f"point-in-time query returned {len(rows)} rows for {row_count} entity rows"
        )
    positions = np.empty(row_count, dtype=np.int64)
    positions[rows] = np.arange(row_count, dtype=np.int64)
    return features.take(pa.array(positions)).drop_columns([ROW_COLUMN])
