"""The bitemporal append rule on frames (the same rule the PostgreSQL INSERT implements)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.storage.tables import TableSchema
from stockfeatures.storage.versions import as_known_at, new_versions

SCHEMA = TableSchema(
    name="toy",
    key=("ticker", "event_timestamp"),
    values=("x",),
    columns=("ticker", "event_timestamp", "created_timestamp", "x"),
)
DAY = pd.Timestamp("2024-01-02 21:00", tz="UTC")


def rows(*versions: tuple[str, int, float]) -> pd.DataFrame:
    """(ticker, hours after the event that the version was learned, value)."""
    return pd.DataFrame(
        {
            "ticker": [v[0] for v in versions],
            "event_timestamp": DAY,
            "created_timestamp": [DAY + pd.Timedelta(hours=v[1]) for v in versions],
            "x": [v[2] for v in versions],
        }
    )


def test_everything_is_new_in_an_empty_table():
    incoming = rows(("AAA", 0, 1.0), ("BBB", 0, 2.0))
    assert len(new_versions(rows(), incoming, SCHEMA)) == 2


def test_same_knowledge_time_is_skipped_even_with_another_value():
    stored = rows(("AAA", 0, 1.0))
    assert new_versions(stored, rows(("AAA", 0, 5.0)), SCHEMA).empty


def test_unchanged_value_learned_later_is_not_a_new_version():
    stored = rows(("AAA", 0, 1.0))
    assert new_versions(stored, rows(("AAA", 5, 1.0)), SCHEMA).empty


def test_missing_values_compare_equal():
    stored = rows(("AAA", 0, np.nan))
    assert new_versions(stored, rows(("AAA", 5, np.nan)), SCHEMA).empty
    assert len(new_versions(stored, rows(("AAA", 5, 0.0)), SCHEMA)) == 1


def test_changed_value_is_kept_as_a_new_version():
    stored = rows(("AAA", 0, 1.0))
    fresh = new_versions(stored, rows(("AAA", 5, 2.0), ("BBB", 5, 1.0)), SCHEMA)
    assert fresh["ticker"].tolist() == ["AAA", "BBB"]


def test_versions_inside_one_batch_are_compared_with_each_other():
    stored = rows(("AAA", 0, 1.0))
    incoming = rows(("AAA", 1, 1.0), ("AAA", 2, 2.0), ("AAA", 3, 2.0), ("AAA", 4, 1.0))
    fresh = new_versions(stored, incoming, SCHEMA)
    assert fresh["x"].tolist() == [2.0, 1.0]


def test_as_known_at_picks_latest_version_not_after_as_of():
    history = rows(("AAA", 0, 1.0), ("AAA", 5, 2.0), ("AAA", 9, 3.0))
    assert as_known_at(history, SCHEMA, DAY + pd.Timedelta(hours=6))["x"].tolist() == [2.0]
    assert as_known_at(history, SCHEMA, DAY - pd.Timedelta(hours=1)).empty
