"""The intraday gates keep bad bars and out-of-range features away from the stores, with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.intraday.bar_gate import gate_intraday_bars
from stockfeatures.intraday.spec import INTRADAY_FEATURES
from stockfeatures.intraday.validation import gate_intraday_features
from tests.intraday_frames import HALF_DAY, make_intraday_bars, make_intraday_features


def test_good_bars_pass_whole():
    bars = make_intraday_bars()
    result = gate_intraday_bars(bars)
    assert result.passed and len(result.accepted) == len(bars)


def test_each_bad_bar_is_rejected_alone_with_its_rule():
    bars = make_intraday_bars(tickers=("AAA",), count=6)
    bars.loc[1, "high"] = bars.loc[1, "low"] - 1.0
    bars.loc[3, "event_timestamp"] += pd.Timedelta(minutes=1)
    bars.loc[4, "close"] = np.nan
    result = gate_intraday_bars(bars)
    reasons = result.rejected["reason"]
    assert sorted(result.rejected.index) == [1, 3, 4]
    assert "high is below" in reasons[1]
    assert "end of a 5-minute bar" in reasons[3]
    assert "close is missing" in reasons[4]
    # Later bars of the ticker are not withheld: windows count session slots.
    assert list(result.accepted["event_timestamp"]) == list(bars.loc[[0, 2, 5], "event_timestamp"])


def test_a_bar_after_an_early_close_or_on_a_holiday_is_rejected():
    close = pd.Timestamp(f"{HALF_DAY} 13:05", tz="America/New_York").tz_convert("UTC")
    after_close = make_intraday_bars(tickers=("AAA",), session=HALF_DAY, count=1).assign(
        event_timestamp=close, created_timestamp=close)
    thanksgiving = after_close.assign(session=pd.Timestamp("2025-11-27"),
                                      event_timestamp=close - pd.Timedelta(days=1),
                                      created_timestamp=close - pd.Timedelta(days=1))
    result = gate_intraday_bars(pd.concat([after_close, thanksgiving], ignore_index=True))
    assert len(result.rejected) == 2 and result.accepted.empty


def test_a_bar_known_before_it_ended_is_rejected():
    bars = make_intraday_bars(tickers=("AAA",), count=2)
    bars.loc[1, "created_timestamp"] -= pd.Timedelta(minutes=1)
    result = gate_intraday_bars(bars)
    assert list(result.rejected.index) == [1]
    assert "known before the bar ended" in result.rejected.loc[1, "reason"]


def test_feature_bounds_come_from_the_spec_and_nan_is_allowed_in_warm_up():
    features = make_intraday_features(tickers=("AAA",), count=3)
    spec = INTRADAY_FEATURES[0]  # ret_5m: the session's first bar has no previous slot
    features.loc[1, spec.name] = spec.valid_max * 2
    features.loc[0, spec.name] = np.nan
    result = gate_intraday_features(features)
    assert list(result.rejected.index) == [1]
    assert spec.name in result.rejected.loc[1, "reason"]
