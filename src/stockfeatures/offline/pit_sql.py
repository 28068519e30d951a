"""The point-in-time query, as text: one index-driven LEFT JOIN LATERAL per source read.

Why LATERAL: Feast's stock template joins every entity row to every earlier source row of its
key (an inequality join), then ranks them. A lateral subquery with ORDER BY ... LIMIT 1 asks
the (keys, event_timestamp) index for exactly one row per entity row instead, so the work is
one index descent per entity row and per source read, whatever the history length.

Pure functions only: nothing here touches a connection, so the SQL can be unit-tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ROW_COLUMN = "_sf_row"
"""Ordinal of the entity row in the caller's frame; results are put back in that order."""

TIMESTAMP_COLUMN = "_sf_entity_ts"
"""The entity row's time, normalized to timestamptz (UTC) before upload."""


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL expects (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class FeatureColumn:
    source: str
    """Column of the source table (after reversing the source's field_mapping)."""
    output: str
    """Name in the result: the feature name, prefixed with the view name for full names."""


@dataclass(frozen=True)
class SourceRead:
    """How the rows of one feature view are looked up; views that agree share one lateral.

    key_pairs: (source column, entity frame column) pairs; they differ when the source maps
    entity columns or the feature view is projected with a join key map.
    ttl_seconds: 0 means no lower bound, as in Feast.
    """

    table: str
    key_pairs: tuple[tuple[str, str], ...]
    timestamp_field: str
    created_timestamp_column: str | None
    ttl_seconds: int

    def features(self, columns: Iterable[FeatureColumn]) -> LateralJoin:
        return LateralJoin(self, tuple(columns))


@dataclass(frozen=True)
class LateralJoin:
    read: SourceRead
    columns: tuple[FeatureColumn, ...]


def merge_shared_reads(joins: Sequence[LateralJoin]) -> list[LateralJoin]:
    """Fold joins with identical reads into one, keeping first-seen order.

    Two views over the same table with the same keys, timestamps and ttl pick the same source
    row for every entity row, so one index descent can serve both.
    """
    merged: dict[SourceRead, list[FeatureColumn]] = {}
    for join in joins:
        merged.setdefault(join.read, []).extend(join.columns)
    return [LateralJoin(read, tuple(columns)) for read, columns in merged.items()]


def _lateral(
    join: LateralJoin, alias: str, key_sql: Mapping[str, str], filter_by_created_timestamp: bool
) -> str:
    read = join.read
    ts = f"s.{quote_ident(read.timestamp_field)}"
    entity_ts = f"e.{quote_ident(TIMESTAMP_COLUMN)}"
    conditions = [f"s.{quote_ident(src)} = {key_sql[entity]}" for src, entity in read.key_pairs]
    conditions.append(f"{ts} <= {entity_ts}")
    if read.ttl_seconds:
        # >= like Feast's templates: a value exactly ttl old is still served.
        conditions.append(f"{ts} >= {entity_ts} - make_interval(secs => {int(read.ttl_seconds)})")
    order = [f"{ts} DESC"]
    if read.created_timestamp_column:
        created = f"s.{quote_ident(read.created_timestamp_column)}"
        order.append(f"{created} DESC")
        if filter_by_created_timestamp:
            conditions.append(f"{created} <= {entity_ts}")
    selected = ", ".join(
        f"s.{quote_ident(col.source)} AS {quote_ident(f'c{i}')}"
        for i, col in enumerate(join.columns)
    )
    where = "\n      AND ".join(conditions)
    return (
        f"LEFT JOIN LATERAL (\n"
        f"    SELECT {selected}\n"
        f"    FROM {read.table} AS s\n"
        f"    WHERE {where}\n"
        f"    ORDER BY {', '.join(order)}\n"
        f"    LIMIT 1\n"
        f") AS {alias} ON TRUE"
    )


def default_key_sql(joins: Sequence[LateralJoin]) -> dict[str, str]:
    """Join keys read straight from the entity table's columns of the same name."""
    return {
        entity: f"e.{quote_ident(entity)}" for join in joins for _, entity in join.read.key_pairs
    }


def build_pit_query(
    joins: Sequence[LateralJoin],
    entity_from: str,
    filter_by_created_timestamp: bool,
    key_sql: Mapping[str, str] | None = None,
) -> str:
    """SELECT the entity row ordinal and every requested feature, one lateral per read.

    entity_from: FROM clause that binds the entity table to alias `e` (and whatever the key
    expressions need); key_sql: entity join key -> SQL expression of its value.
    """
    keys = default_key_sql(joins) if key_sql is None else key_sql
    outputs = [f"e.{quote_ident(ROW_COLUMN)}"]
    laterals = []
    for j, join in enumerate(joins):
        alias = f"j{j}"
        outputs.extend(
            f"{alias}.{quote_ident(f'c{i}')} AS {quote_ident(col.output)}"
            for i, col in enumerate(join.columns)
        )
        laterals.append(_lateral(join, alias, keys, filter_by_created_timestamp))
    return f"SELECT {', '.join(outputs)}\nFROM {entity_from}\n" + "\n".join(laterals)


def output_names(joins: Sequence[LateralJoin]) -> list[str]:
    return [col.output for join in joins for col in join.columns]
