"""The merge plan's database side: one stream of the source rows an entity frame can reach.

For each source read, the rows of the entity frame's keys (inner-joined to the uploaded key
dictionaries, so they arrive as int codes) within [earliest entity time - ttl, latest entity
time] come out in one COPY; asof_merge picks every entity row's row in numpy. No entity
table is uploaded and no index is needed. The lateral plan (pit_sql) stays for frames that
reach many more source rows than they have (a wide table, few instants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from stockfeatures.offline.arrow_copy import describe, fetch_arrow
from stockfeatures.offline.asof_merge import asof_positions, combined_codes
from stockfeatures.offline.entity_frame import EntityUpload
from stockfeatures.offline.pit_sql import LateralJoin, quote_ident

if TYPE_CHECKING:
    import psycopg

_TS, _CREATED = "_sf_ts", "_sf_created"
_TIMESTAMP_OIDS = {1114, 1184}  # timestamp, timestamptz


@dataclass(frozen=True)
class SourceStream:
    """One read's query and how to match its rows to the entity rows."""

    join: LateralJoin
    query: str
    entity_keys: tuple[int, ...]
    """Index into the upload's join keys of each of the read's key pairs, in order."""

    def part(self, index: int, parts: int) -> str:
        """The rows of every `parts`-th key code: one session's share of the stream.

        The merge matches rows within a key, so the parts can be fetched apart and joined.
        """
        if parts == 1:
            return self.query
        return f"{self.query} AND d0.code % {int(parts)} = {int(index)}"


def _literal(microseconds: int) -> str:
    stamp = pd.Timestamp(microseconds, unit="us", tz="UTC").isoformat()
    return f"'{stamp}'::timestamptz"


def source_stream(
    join: LateralJoin, upload: EntityUpload, filter_by_created_timestamp: bool
) -> SourceStream:
    read = join.read
    entity_keys = tuple(upload.join_keys.index(entity) for _, entity in read.key_pairs)
    times = upload.times.view(np.int64)
    ts = f"s.{quote_ident(read.timestamp_field)}"
    selected = [f"d{j}.code AS k{j}" for j in range(len(entity_keys))]
    selected.append(f"{ts} AS {_TS}")
    if read.created_timestamp_column:
        selected.append(f"s.{quote_ident(read.created_timestamp_column)} AS {_CREATED}")
    selected += [
        f"s.{quote_ident(col.source)} AS {quote_ident(f'c{i}')}"
        for i, col in enumerate(join.columns)
    ]
    joins = [
        f"JOIN {quote_ident(upload.dictionary_table(i))} AS d{j} "
        f"ON d{j}.value = s.{quote_ident(src)}"
        for j, ((src, _), i) in enumerate(zip(read.key_pairs, entity_keys, strict=True))
    ]
    latest = int(times.max()) if len(times) else 0
    conditions = [f"{ts} <= {_literal(latest)}"]
    if read.ttl_seconds and len(times):
        conditions.append(f"{ts} >= {_literal(int(times.min()) - read.ttl_seconds * 10**6)}")
    if filter_by_created_timestamp and read.created_timestamp_column:
        created = f"s.{quote_ident(read.created_timestamp_column)}"
        conditions.append(f"{created} <= {_literal(latest)}")
    query = (
        f"SELECT {', '.join(selected)}\nFROM {read.table} AS s\n" + "\n".join(joins)
        + "\nWHERE " + " AND ".join(conditions)
    )
    return SourceStream(join=join, query=query, entity_keys=entity_keys)


def estimated_rows(cur: psycopg.Cursor, query: str) -> float:
    """The planner's row estimate for the query (no execution)."""
    cur.execute(f"EXPLAIN (FORMAT JSON) {query}")
    return float(cur.fetchone()[0][0]["Plan"]["Plan Rows"])


def mergeable(cur: psycopg.Cursor, stream: SourceStream, upload: EntityUpload) -> bool:
    """Timestamps the numpy merge can compare, and a key space that fits one int code."""
    sizes = [upload.dictionaries[i].num_rows for i in stream.entity_keys]
    if combined_codes([np.zeros(0, np.int64)] * len(sizes), sizes) is None:
        return False
    types = dict(describe(cur, stream.query))
    return types[_TS] in _TIMESTAMP_OIDS and types.get(_CREATED, 1114) in _TIMESTAMP_OIDS


def _microseconds(column: pa.ChunkedArray, null_as: int) -> np.ndarray:
    values = column.cast(pa.int64())
    if values.null_count:
        values = values.fill_null(null_as)
    return values.to_numpy()


def fetch_part(cur: psycopg.Cursor, stream: SourceStream, index: int, parts: int) -> pa.Table:
    return fetch_arrow(cur, stream.part(index, parts))


def merged_columns(
    streams: Sequence[SourceStream],
    fetched: Sequence[pa.Table],
    upload: EntityUpload,
    filter_by_created_timestamp: bool,
) -> dict[str, pa.ChunkedArray]:
    """Every requested feature, in entity-frame order, by output name.

    fetched: each stream's rows (fetch_part's parts, concatenated), in the order of streams.
    """
    times = upload.times.view(np.int64)
    result: dict[str, pa.ChunkedArray] = {}
    for stream, rows in zip(streams, fetched, strict=True):
        read = stream.join.read
        sizes = [upload.dictionaries[i].num_rows for i in stream.entity_keys]
        src_codes = combined_codes(
            [rows.column(f"k{j}").to_numpy().astype(np.int64) for j in range(len(sizes))], sizes
        )
        ent_codes = combined_codes([upload.codes[i].astype(np.int64) for i in stream.entity_keys], sizes)
        created = (
            # Rows with a null created never pass `created <= t` (the query left them out);
            # without the filter a null created ranks first, as in ORDER BY created DESC.
            _microseconds(rows.column(_CREATED), np.iinfo(np.int64).max)
            if read.created_timestamp_column
            else None
        )
        chosen = asof_positions(
            src_codes, _microseconds(rows.column(_TS), 0), created, ent_codes, times,
            read.ttl_seconds * 10**6, filter_by_created_timestamp,
        )
        # The upload's rows are sorted by (keys, time); put them back in the caller's order.
        positions = np.empty(len(chosen), dtype=np.int64)
        positions[upload.rows] = chosen
        take = pa.array(positions, mask=positions < 0)
        for i, col in enumerate(stream.join.columns):
            result[col.output] = rows.column(f"c{i}").take(take)
    return result
