"""Feature writes take two paths in PostgreSQL (straight COPY when no row has a stored version
of its fact, the version-checked INSERT ... SELECT otherwise); both stores must count alike.

Written with the binary COPY change: these pass on the CSV path too (same meaning), and pin
the cases where the straight path must not be taken.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES

pytestmark = pytest.mark.integration


def test_two_versions_of_a_new_fact_in_one_batch_keep_the_version_rule(warehouse, make_features):
    first = make_features(tickers=("AAA",))
    same_again = first.assign(created_timestamp=first["created_timestamp"] + pd.Timedelta(hours=1))
    changed = first.assign(created_timestamp=first["created_timestamp"] + pd.Timedelta(hours=2))
    changed.loc[1, "ret_1d"] = 9.0

    result = warehouse.write_features(pd.concat([first, same_again, changed], ignore_index=True))

    assert (result.inserted, result.unchanged) == (len(first) + 1, 2 * len(first) - 1)
    assert warehouse.read_features().loc[1, "ret_1d"] == 9.0


def test_next_window_with_one_stored_fact_counts_that_fact_unchanged(warehouse, make_features):
    stored = make_features(start="2024-01-02", end="2024-01-05")
    warehouse.write_features(stored)
    later = make_features(start="2024-01-05", end="2024-01-11")  # overlaps on 2024-01-05
    later["created_timestamp"] = later["event_timestamp"].max()
    overlap = later["event_timestamp"] == stored["event_timestamp"].max()
    later.loc[overlap, list(FEATURE_NAMES)] = stored.loc[
        stored["event_timestamp"] == stored["event_timestamp"].max(), list(FEATURE_NAMES)
    ].to_numpy()

    result = warehouse.write_features(later)

    assert (result.inserted, result.unchanged) == (len(later) - overlap.sum(), overlap.sum())
    assert len(warehouse.read_features()) == len(stored) + len(later) - overlap.sum()


def test_new_window_is_stored_whole_and_exact(warehouse, make_features):
    warehouse.write_features(make_features(start="2024-01-02", end="2024-01-05"))
    later = make_features(start="2024-01-08", end="2024-01-11")
    awkward = [5e-324, 1.7976931348623157e308, 0.1 + 0.2, -0.0, 1 / 3]
    later.loc[1:5, "ret_1d"] = awkward

    result = warehouse.write_features(later)

    assert (result.inserted, result.unchanged) == (len(later), 0)
    stored = warehouse.read_features(start="2024-01-08").sort_values(["ticker", "event_timestamp"])
    back = stored["ret_1d"].to_numpy()[1:6]
    assert back.tobytes() == np.array(awkward).tobytes()
    assert stored[list(FEATURE_NAMES)].isna().any(axis=1).sum() == 2
