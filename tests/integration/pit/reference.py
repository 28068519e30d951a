"""The point-in-time rule written out plainly in DuckDB, as the yardstick for both stores.

For each entity row: among source rows with equal keys, event time <= entity time, event time
>= entity time - ttl (when a ttl is set) and, when asked, created time <= entity time, take the
one with the latest event time, then the latest created time. No row: NULL features.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb
import pandas as pd


def naive_utc(values: pd.Series) -> pd.Series:
    if values.dt.tz is None:
        return values.astype("datetime64[us]")
    return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def reference_pit(
    entity: pd.DataFrame,
    rows: pd.DataFrame,
    keys: Sequence[str],
    features: Sequence[str],
    ttl: timedelta | None,
    created_column: str | None,
    filter_by_created_timestamp: bool,
) -> pd.DataFrame:
    """Feature values per entity `row_id`, computed by a window over every candidate row."""
    left = entity[["row_id", *keys]].assign(entity_ts=naive_utc(entity["event_timestamp"]))
    right = rows.assign(event_timestamp=naive_utc(rows["event_timestamp"]))
    if created_column:
        right[created_column] = naive_utc(right[created_column])
    conditions = [f's."{key}" = e."{key}"' for key in keys]
    conditions.append("s.event_timestamp <= e.entity_ts")
    if ttl:
        conditions.append(f"s.event_timestamp >= e.entity_ts - INTERVAL {int(ttl.total_seconds())} SECOND")
    order = "s.event_timestamp DESC"
    if created_column:
        order += f', s."{created_column}" DESC'
        if filter_by_created_timestamp:
            conditions.append(f's."{created_column}" <= e.entity_ts')
    selected = ", ".join(f's."{name}"' for name in features)
    query = f"""
        SELECT e.row_id, {selected}
        FROM left_rows AS e LEFT JOIN right_rows AS s ON {" AND ".join(conditions)}
        QUALIFY row_number() OVER (PARTITION BY e.row_id ORDER BY {order}) = 1
        ORDER BY e.row_id
    """
    con = duckdb.connect()
    con.register("left_rows", left)
    con.register("right_rows", right)
    return con.execute(query).df().set_index("row_id")
