"""compute_features refuses bars that would silently give wrong features, naming the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features import DuplicateBars, InvalidBars, InvalidPrices, compute_features
from tests.unit.features.synthetic_bars import several_tickers


@pytest.fixture
def bars() -> pd.DataFrame:
    return several_tickers(seed=41)


def test_missing_column_is_named(bars):
    with pytest.raises(InvalidBars, match="raw_volume"):
        compute_features(bars.drop(columns=["raw_volume"]), benchmark="SPY")


def test_duplicate_bar_names_ticker_and_session(bars):
    doubled = pd.concat([bars, bars.iloc[[50]]], ignore_index=True)
    ticker, session = bars.loc[50, "ticker"], bars.loc[50, "session"].date()
    with pytest.raises(DuplicateBars, match=f"{ticker} {session}"):
        compute_features(doubled, benchmark="SPY")


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "raw_close"])
@pytest.mark.parametrize("bad", [0.0, -3.5, np.nan])
def test_non_positive_or_missing_price_names_column_ticker_and_session(bars, column, bad):
    bars.loc[120, column] = bad
    ticker, session = bars.loc[120, "ticker"], bars.loc[120, "session"].date()
    with pytest.raises(InvalidPrices, match=rf"{column}.*{ticker} {session}"):
        compute_features(bars, benchmark="SPY")


@pytest.mark.parametrize("column", ["volume", "raw_volume"])
def test_negative_volume_is_rejected(bars, column):
    bars.loc[7, column] = -1.0
    with pytest.raises(InvalidPrices, match=column):
        compute_features(bars, benchmark="SPY")


@pytest.mark.parametrize("column", ["event_timestamp", "created_timestamp"])
def test_naive_timestamps_are_rejected(bars, column):
    bars[column] = bars[column].dt.tz_localize(None)
    with pytest.raises(InvalidBars, match=f"{column}.*timezone-aware"):
        compute_features(bars, benchmark="SPY")


def test_typed_errors_are_value_errors(bars):
    assert issubclass(InvalidPrices, ValueError)
    assert issubclass(DuplicateBars, InvalidBars)


def test_timestamps_in_another_zone_are_converted_to_utc(bars):
    in_new_york = bars.copy()
    for column in ("event_timestamp", "created_timestamp"):
        in_new_york[column] = in_new_york[column].dt.tz_convert("America/New_York")
    pd.testing.assert_frame_equal(
        compute_features(in_new_york, benchmark="SPY"), compute_features(bars, benchmark="SPY")
    )
