"""Behaviour both offline stores share: append-only, bitemporal, whole-batch writes.

Every test runs against PostgresWarehouse (real PostgreSQL) and ParquetWarehouse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.storage import InvalidFrame, InvalidQuery, Warehouse

pytestmark = pytest.mark.integration

BAR_COLUMNS = [
    "ticker", "session", "open", "high", "low", "close", "volume",
    "event_timestamp", "created_timestamp",
]
FEATURE_COLUMNS = ["ticker", "event_timestamp", "created_timestamp", *FEATURE_NAMES]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_both_stores_satisfy_the_warehouse_protocol(warehouse):
    assert isinstance(warehouse, Warehouse)


def test_written_bars_read_back_with_contract_dtypes(warehouse, make_bars):
    bars = make_bars()
    result = warehouse.write_bars(bars)
    assert (result.inserted, result.unchanged) == (len(bars), 0)

    stored = warehouse.read_bars()
    pd.testing.assert_frame_equal(
        _sorted(stored[BAR_COLUMNS], ["ticker", "session"]), _sorted(bars[BAR_COLUMNS], ["ticker", "session"])
    )
    assert stored["source"].isna().all()


def test_identical_rewrite_adds_nothing(warehouse, make_bars):
    bars = make_bars()
    warehouse.write_bars(bars)

    again = warehouse.write_bars(bars)
    rerun_later = warehouse.write_bars(
        bars.assign(created_timestamp=bars["created_timestamp"] + pd.Timedelta(days=1))
    )

    assert (again.inserted, again.unchanged) == (0, len(bars))
    assert (rerun_later.inserted, rerun_later.unchanged) == (0, len(bars))
    history = warehouse.read_bars(as_of=pd.Timestamp("2030-01-01", tz="UTC"))
    assert len(history) == len(bars)
    assert (history["created_timestamp"] == history["event_timestamp"]).all()


def test_restated_bar_is_hidden_from_earlier_backtests(warehouse, make_bars):
    bars = make_bars()
    warehouse.write_bars(bars)
    learned_at = bars["event_timestamp"].max() + pd.Timedelta(days=3)
    restated = bars.copy()
    restated["created_timestamp"] = learned_at
    target = (restated["ticker"] == "AAA") & (restated["session"] == pd.Timestamp("2024-01-03"))
    restated.loc[target, "close"] = 999.0

    result = warehouse.write_bars(restated)

    assert (result.inserted, result.unchanged) == (1, len(bars) - 1)
    before = warehouse.read_bars(["AAA"], as_of=learned_at - pd.Timedelta(seconds=1))
    after = warehouse.read_bars(["AAA"], as_of=learned_at)
    now = warehouse.read_bars(["AAA"])
    day = pd.Timestamp("2024-01-03")
    original_close = bars.loc[target, "close"].item()
    assert before.loc[before["session"] == day, "close"].item() == original_close
    assert after.loc[after["session"] == day, "close"].item() == 999.0
    assert now.loc[now["session"] == day, "created_timestamp"].item() == learned_at
    assert len(now) == len(before) == len(after)


def test_bar_is_invisible_before_it_was_known(warehouse, make_bars):
    bars = make_bars()
    warehouse.write_bars(bars)
    first_close = bars["event_timestamp"].min()

    assert warehouse.read_bars(as_of=first_close - pd.Timedelta(microseconds=1)).empty
    assert len(warehouse.read_bars(as_of=first_close)) == 2


def test_batch_with_one_bad_row_is_rejected_whole(warehouse, make_bars):
    bars = make_bars()
    bars.loc[3, "created_timestamp"] = bars.loc[3, "event_timestamp"] - pd.Timedelta(hours=1)

    with pytest.raises(InvalidFrame, match="row"):
        warehouse.write_bars(bars)

    assert warehouse.read_bars().empty
    assert warehouse.tickers() == []


def test_lower_case_ticker_rejects_the_batch(warehouse, make_bars):
    bars = make_bars()
    bars.loc[0, "ticker"] = "aaa"

    with pytest.raises(InvalidFrame, match="ticker"):
        warehouse.write_bars(bars)
    assert warehouse.read_bars().empty


def test_naive_timestamps_are_rejected_with_a_clear_error(warehouse, make_bars):
    bars = make_bars()
    bars["created_timestamp"] = bars["created_timestamp"].dt.tz_localize(None)

    with pytest.raises(InvalidFrame, match="created_timestamp must be timezone-aware"):
        warehouse.write_bars(bars)


def test_missing_columns_are_named(warehouse, make_bars):
    with pytest.raises(InvalidFrame, match="volume"):
        warehouse.write_bars(make_bars().drop(columns=["volume"]))


def test_event_timestamp_must_be_the_session_close(warehouse, make_bars):
    bars = make_bars()
    bars.loc[1, "event_timestamp"] += pd.Timedelta(hours=1)
    bars.loc[1, "created_timestamp"] = bars.loc[1, "event_timestamp"]

    with pytest.raises(InvalidFrame, match="XNYS close"):
        warehouse.write_bars(bars)


def test_reads_filter_by_ticker_and_session_dates(warehouse, make_bars):
    warehouse.write_bars(make_bars(tickers=("AAA", "BBB", "CCC")))

    window = warehouse.read_bars(["BBB", "CCC"], start="2024-01-03", end="2024-01-04")

    assert sorted(window["ticker"].unique()) == ["BBB", "CCC"]
    assert sorted(window["session"].unique()) == list(pd.to_datetime(["2024-01-03", "2024-01-04"]))
    assert warehouse.tickers() == ["AAA", "BBB", "CCC"]


def test_session_range_spans_the_stored_bars_of_every_ticker(warehouse, make_bars):
    assert warehouse.session_range() is None
    warehouse.write_bars(make_bars(tickers=("BBB",), start="2024-01-03", end="2024-01-04"))
    warehouse.write_bars(make_bars(tickers=("AAA",), start="2024-01-02", end="2024-01-05"))

    assert warehouse.session_range() == (pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-05"))


def test_naive_as_of_is_refused(warehouse):
    with pytest.raises(InvalidQuery, match="timezone"):
        warehouse.read_bars(as_of=pd.Timestamp("2024-01-05"))


def test_features_round_trip_keeps_warm_up_nans(warehouse, make_features):
    features = make_features()
    warehouse.write_features(features)

    stored = warehouse.read_features()

    assert list(stored.columns) == FEATURE_COLUMNS
    pd.testing.assert_frame_equal(
        _sorted(stored, ["ticker", "event_timestamp"]), _sorted(features, ["ticker", "event_timestamp"])
    )
    assert stored[list(FEATURE_NAMES)].isna().any(axis=1).sum() == 2


def test_nan_equals_nan_so_recomputed_features_add_nothing(warehouse, make_features):
    features = make_features()
    warehouse.write_features(features)

    recomputed = features.assign(created_timestamp=features["created_timestamp"] + pd.Timedelta(hours=2))
    result = warehouse.write_features(recomputed)

    assert (result.inserted, result.unchanged) == (0, len(features))


def test_feature_that_turns_from_nan_to_a_value_is_a_new_version(warehouse, make_features):
    features = make_features(tickers=("AAA",))
    warehouse.write_features(features)
    revised = features.assign(created_timestamp=features["created_timestamp"] + pd.Timedelta(days=1))
    revised.loc[0, "ret_1d"] = 0.5

    result = warehouse.write_features(revised)

    assert result.inserted == 1
    known_first = warehouse.read_features(
        as_of=revised.loc[0, "created_timestamp"] - pd.Timedelta(microseconds=1)
    )
    known_now = warehouse.read_features()
    first_day = features["event_timestamp"].min()
    assert np.isnan(known_first.loc[known_first["event_timestamp"] == first_day, "ret_1d"].item())
    assert known_now.loc[known_now["event_timestamp"] == first_day, "ret_1d"].item() == 0.5


def test_latest_features_is_the_newest_session_in_its_latest_version(warehouse, make_features):
    features = make_features()
    warehouse.write_features(features)
    newest = features["event_timestamp"].max()
    revision = features[(features["ticker"] == "BBB") & (features["event_timestamp"] == newest)].copy()
    revision["created_timestamp"] = newest + pd.Timedelta(hours=5)
    revision["ret_5d"] = -0.2
    warehouse.write_features(revision)

    latest = warehouse.latest_features(["AAA", "BBB", "ZZZ"]).set_index("ticker")

    assert sorted(latest.index) == ["AAA", "BBB"]
    assert (latest["event_timestamp"] == newest).all()
    assert latest.loc["BBB", "ret_5d"] == -0.2
    assert latest.loc["BBB", "created_timestamp"] == newest + pd.Timedelta(hours=5)
    assert len(warehouse.latest_features()) == 2


def test_latest_features_of_every_ticker_as_known_at_a_time(warehouse, make_features):
    features = make_features(tickers=("AAA", "BBB", "CCC"))
    newest = features["event_timestamp"].max()
    late = features["ticker"] == "CCC"
    features.loc[late, "created_timestamp"] = newest + pd.Timedelta(days=3)
    warehouse.write_features(features)
    revision = features[(features["ticker"] == "BBB") & (features["event_timestamp"] == newest)].copy()
    revision["created_timestamp"] = newest + pd.Timedelta(days=1)
    revision["ret_5d"] = -0.2
    warehouse.write_features(revision)

    before_revision = warehouse.latest_features(as_of=newest + pd.Timedelta(hours=1))
    everything_now = warehouse.latest_features()

    assert before_revision["ticker"].tolist() == ["AAA", "BBB"]  # CCC not known yet
    assert (before_revision["event_timestamp"] == newest).all()
    assert before_revision.set_index("ticker").loc["BBB", "ret_5d"] != -0.2
    assert everything_now["ticker"].tolist() == ["AAA", "BBB", "CCC"]
    assert everything_now.set_index("ticker").loc["BBB", "ret_5d"] == -0.2
    listed = warehouse.latest_features(["AAA", "BBB", "CCC"])
    pd.testing.assert_frame_equal(everything_now, _sorted(listed, ["ticker"]))


def test_corporate_action_correction_is_a_new_version(warehouse, make_actions):
    actions = make_actions()
    warehouse.write_actions(actions)
    corrected = actions.iloc[[1]].assign(
        value=0.25, created_timestamp=actions["created_timestamp"].iloc[1] + pd.Timedelta(days=2)
    )

    assert warehouse.write_actions(actions).inserted == 0
    assert warehouse.write_actions(corrected).inserted == 1

    before = warehouse.read_actions(as_of=actions["created_timestamp"].max() + pd.Timedelta(days=1))
    after = warehouse.read_actions(["BBB"])
    assert before.set_index("ticker").loc["BBB", "value"] == 0.24
    assert after["value"].tolist() == [0.25]
    assert list(after.columns) == [
        "ticker", "ex_date", "kind", "value", "event_timestamp", "created_timestamp",
    ]


def test_unknown_action_kind_rejects_the_batch(warehouse, make_actions):
    actions = make_actions()
    actions.loc[1, "kind"] = "merger"

    with pytest.raises(InvalidFrame, match="kind"):
        warehouse.write_actions(actions)
    assert warehouse.read_actions().empty


def test_quarantine_keeps_rejected_rows_with_their_reason(warehouse, make_bars):
    rejected = make_bars(tickers=("AAA",)).head(2)
    rejected.loc[1, "close"] = -5.0

    stored = warehouse.quarantine("validate_raw", rejected, "close must be positive")
    warehouse.quarantine("validate_features", rejected.head(1), "other stage")

    rows = warehouse.read_quarantine("validate_raw")
    assert stored == 2
    assert rows["reason"].tolist() == ["close must be positive"] * 2
    assert rows["ticker"].tolist() == ["AAA", "AAA"]
    assert rows["event_timestamp"].tolist() == rejected["event_timestamp"].tolist()
    assert rows["payload"].iloc[1]["close"] == -5.0
    assert rows["quarantined_at"].notna().all()
    assert len(warehouse.read_quarantine()) == 3


def test_awkward_floats_round_trip_exactly(warehouse, make_bars):
    bars = make_bars(tickers=("AAA",))
    awkward = [1 / 3, 0.1 + 0.2, 1e-300, 1.7976931348623157e308]
    bars["close"] = awkward
    bars["volume"] = [float("inf"), 5e-324, 2.0**60, float("nan")]
    bars["source"] = ["sample", None, "csv, quoted", "NA"]

    warehouse.write_bars(bars)
    stored = warehouse.read_bars().sort_values("session")

    assert stored["close"].tolist() == awkward
    np.testing.assert_array_equal(stored["volume"].to_numpy(), bars["volume"].to_numpy())
    assert stored["source"].tolist() == ["sample", None, "csv, quoted", "NA"]


def test_ticker_spelled_like_a_missing_value_survives(warehouse, make_bars):
    warehouse.write_bars(make_bars(tickers=("NA", "NAN")))

    assert warehouse.tickers() == ["NA", "NAN"]
    assert sorted(warehouse.read_bars()["ticker"].unique()) == ["NA", "NAN"]
