"""Input checks that reject a batch before any store sees it."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures import trading_calendar
from stockfeatures.storage import InvalidFrame
from stockfeatures.storage.tables import ACTIONS, BARS, features_schema
from stockfeatures.storage.validation import validated


def bars() -> pd.DataFrame:
    days = trading_calendar.sessions_between("2024-01-02", "2024-01-03")
    frame = pd.DataFrame(
        {"ticker": "AAA", "session": days, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10}
    )
    frame["event_timestamp"] = trading_calendar.session_close(frame["session"])
    frame["created_timestamp"] = frame["event_timestamp"]
    return frame


def test_valid_bars_get_canonical_columns_and_dtypes():
    out = validated(bars(), BARS)
    assert list(out.columns) == list(BARS.columns)
    assert out["volume"].dtype == "float64"
    assert str(out["created_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert out["source"].isna().all()


def test_other_time_zones_are_converted_to_utc():
    frame = bars()
    frame["created_timestamp"] = frame["created_timestamp"].dt.tz_convert("America/New_York")
    out = validated(frame, BARS)
    assert (out["created_timestamp"] == bars()["created_timestamp"]).all()


def test_identical_repeated_rows_collapse_to_one():
    assert len(validated(pd.concat([bars(), bars()]), BARS)) == 2


def test_two_values_for_one_version_are_ambiguous():
    other = bars().assign(close=9.0)
    with pytest.raises(InvalidFrame, match="share"):
        validated(pd.concat([bars(), other]), BARS)


def test_every_problem_is_listed_in_one_error():
    frame = bars()
    frame.loc[0, "ticker"] = "bad ticker"
    frame["created_timestamp"] = frame["created_timestamp"].dt.tz_localize(None)
    with pytest.raises(InvalidFrame) as caught:
        validated(frame, BARS)
    assert len(caught.value.problems) == 2
    assert caught.value.table == "prices"


def test_every_row_of_a_bad_or_missing_ticker_is_named():
    frame = pd.concat([bars(), bars().assign(ticker="aaa"), bars().assign(ticker=None)],
                      ignore_index=True)
    with pytest.raises(InvalidFrame) as caught:
        validated(frame, BARS)
    (problem,) = caught.value.problems
    assert "'aaa'" in problem and "None" in problem
    assert problem.endswith("rows 2, 3, 4, 5")


def test_weekend_session_is_named():
    frame = bars()
    frame.loc[0, "session"] = pd.Timestamp("2024-01-06")
    with pytest.raises(InvalidFrame, match="2024-01-06"):
        validated(frame, BARS)


def test_actions_may_be_known_before_their_ex_date():
    frame = pd.DataFrame({"ticker": ["AAA"], "ex_date": pd.to_datetime(["2024-01-03"]), "kind": ["dividend"], "value": [0.5]})
    frame["event_timestamp"] = trading_calendar.session_close(frame["ex_date"])
    frame["created_timestamp"] = frame["event_timestamp"] - pd.Timedelta(days=30)
    assert len(validated(frame, ACTIONS)) == 1


def test_features_must_carry_every_feature_column():
    schema = features_schema()
    frame = pd.DataFrame({"ticker": ["AAA"], "event_timestamp": [pd.Timestamp("2024-01-02 21:00", tz="UTC")]})
    frame["created_timestamp"] = frame["event_timestamp"]
    with pytest.raises(InvalidFrame, match=schema.values[0]):
        validated(frame, schema)


def test_non_numeric_feature_values_are_refused():
    schema = features_schema()
    frame = pd.DataFrame({"ticker": ["AAA"], "event_timestamp": [pd.Timestamp("2024-01-02 21:00", tz="UTC")]})
    frame["created_timestamp"] = frame["event_timestamp"]
    for name in schema.values:
        frame[name] = 0.1
    frame[schema.values[-1]] = "high"
    with pytest.raises(InvalidFrame, match="numeric"):
        validated(frame, schema)
