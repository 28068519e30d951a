"""Bitemporal version logic on frames: which incoming rows are new, which rows were known when.

The parquet store uses these directly; the PostgreSQL store does the same in SQL
(postgres_sql.py), and the shared behavioural tests hold both to one meaning:
- a row whose (key, created_timestamp) is already stored is skipped;
- a row equal to the version known just before it (same key, next-lower created_timestamp,
  stored or incoming) is skipped, so re-running a day adds nothing;
- anything else is a new version. Missing values (NaN/NULL) compare equal to each other.
"""

from __future__ import annotations

import pandas as pd

from stockfeatures.storage.tables import CREATED, TableSchema

_NEW = "__is_new"


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a == b) | (a.isna() & b.isna())


def new_versions(stored: pd.DataFrame, incoming: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The rows of `incoming` (validated) that the table does not know yet."""
    if incoming.empty:
        return incoming
    version_key = list(schema.version_key)
    known = stored[version_key].drop_duplicates()
    marked = incoming.merge(known, on=version_key, how="left", indicator=True)
    fresh = incoming[(marked["_merge"] == "left_only").to_numpy()]
    if fresh.empty:
        return fresh
    key = list(schema.key)
    relevant = stored.merge(fresh[key].drop_duplicates(), on=key, how="inner")
    parts = [fresh.assign(**{_NEW: True})]
    if not relevant.empty:  # concat with an empty frame would upset column dtypes
        parts.insert(0, relevant.assign(**{_NEW: False}))
    timeline = pd.concat(parts, ignore_index=True).sort_values([*key, CREATED], kind="stable")
    groups = timeline.groupby(key, sort=False, dropna=False)
    has_previous = groups.cumcount() > 0
    previous = groups[list(schema.values)].shift(1)
    unchanged = pd.Series(True, index=timeline.index)
    for column in schema.values:
        unchanged &= _same(timeline[column], previous[column])
    keep = timeline[_NEW] & ~(has_previous & unchanged)
    return timeline[keep].drop(columns=_NEW).sort_index().reset_index(drop=True)


def as_known_at(rows: pd.DataFrame, schema: TableSchema, as_of: pd.Timestamp) -> pd.DataFrame:
    """The latest version of each fact among those known at `as_of`."""
    known = rows[rows[CREATED] <= as_of]
    latest = known.sort_values([*schema.key, CREATED], kind="stable").drop_duplicates(
        list(schema.key), keep="last"
    )
    return latest.reset_index(drop=True)
