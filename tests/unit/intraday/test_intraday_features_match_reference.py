"""Each intraday feature against the plain-Python reference, on sessions with every edge case."""

import math

import numpy as np
import pandas as pd
import pytest

from stockfeatures.intraday.compute import compute_intraday_features
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES
from tests.unit.intraday.reference import reference_features
from tests.unit.intraday.synthetic import session_bars, sessions

NY = "America/New_York"
HALF_DAY = pd.Timestamp("2024-11-29")  # the day after Thanksgiving closes at 13:00


def assert_matches_reference(bars: pd.DataFrame) -> pd.DataFrame:
    features = compute_intraday_features(bars)
    expected = reference_features(bars)
    assert len(features) == len(bars) == len(expected)
    for name in INTRADAY_FEATURE_NAMES:
        want = np.array([expected[(t, e)][name] for t, e in zip(features["ticker"], features["event_timestamp"], strict=True)])
        got = features[name].to_numpy()
        assert np.array_equal(np.isnan(got), np.isnan(want)), f"{name}: NaN positions differ"
        assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-10, atol=1e-12), name
    known = [expected[(t, e)]["known"] for t, e in zip(features["ticker"], features["event_timestamp"], strict=True)]
    assert (features["created_timestamp"] == pd.DatetimeIndex(known)).all()
    return features


@pytest.fixture(scope="module")
def month():
    """23 sessions (Nov 1 - Dec 4 2024, the 13:00 close of Nov 29 included) for three tickers:
    a halted ticker, missing bars, zero-volume bars and a missing first bar of the day."""
    days = sessions("2024-11-01", 23)
    assert HALF_DAY in days
    drop = {("BBB", days[3], 10), ("BBB", days[3], 30), ("CCC", days[5], 0), ("AAA", days[21], 60)}
    zeros = {("AAA", days[22], 0), ("AAA", days[22], 1), ("CCC", days[10], 40)}
    raw = session_bars(["AAA", "BBB", "CCC"], days, seed=11, drop=drop, zero_volume=zeros,
                       halted=("BBB", days[22], 20, 35))
    return split_intraday_bars(raw)[0], days


def test_all_features_match_the_reference_on_a_month_with_edge_cases(month):
    bars, _ = month
    assert_matches_reference(bars)


def test_first_bar_of_the_day_has_only_session_features(month):
    bars, days = month
    features = compute_intraday_features(bars)
    first = features[features["event_timestamp"] == pd.Timestamp(f"{days[1].date()} 09:35", tz=NY)]
    assert first[["ret_5m", "ret_30m", "realized_vol_1h", "range_30m"]].isna().all().all()
    assert first["ret_since_open"].notna().all() and first["vwap_gap"].notna().all()


def test_halted_ticker_gets_nan_windows_across_the_halt_then_recovers(month):
    bars, days = month
    features = compute_intraday_features(bars).set_index(["ticker", "event_timestamp"])
    opening = pd.Timestamp(days[22]).tz_localize(NY) + pd.Timedelta(hours=9, minutes=30)
    def end(slot):
        return opening + pd.Timedelta(minutes=5 * (slot + 1))
    after_halt = features.loc[("BBB", end(36))]
    assert math.isnan(after_halt["ret_5m"]) and math.isnan(after_halt["range_30m"])
    assert not math.isnan(after_halt["ret_since_open"])
    assert not math.isnan(features.loc[("BBB", end(36 + 12)), "realized_vol_1h"])


def test_missing_first_bar_makes_ret_since_open_nan_all_session(month):
    bars, days = month
    features = compute_intraday_features(bars)
    session = features[(features["ticker"] == "CCC")
                       & (features["event_timestamp"].dt.tz_convert(NY).dt.normalize().dt.tz_localize(None) == days[5])]
    assert len(session) == 77 and session["ret_since_open"].isna().all()


def test_zero_volume_opening_bars_leave_vwap_gap_nan_until_volume_trades(month):
    bars, days = month
    features = compute_intraday_features(bars)
    aaa = features[(features["ticker"] == "AAA")
                   & (features["event_timestamp"].dt.tz_convert(NY).dt.normalize().dt.tz_localize(None) == days[22])]
    assert aaa["vwap_gap"].iloc[:2].isna().all() and aaa["vwap_gap"].iloc[2:].notna().all()


def test_volume_tod_ratio_warms_up_over_20_sessions_and_skips_the_half_day_afternoon(month):
    bars, days = month
    features = compute_intraday_features(bars)
    day = features["event_timestamp"].dt.tz_convert(NY).dt.normalize().dt.tz_localize(None)
    aaa = features[features["ticker"] == "AAA"]
    # Morning slots: the 21st session (days[20]) is the first with 20 earlier ones.
    assert aaa.loc[day[aaa.index] < days[20], "volume_tod_ratio"].isna().all()
    morning = aaa[(day[aaa.index] == days[20]) & (aaa["event_timestamp"].dt.tz_convert(NY).dt.hour < 12)]
    assert morning["volume_tod_ratio"].notna().all()
    # Afternoon slots after the half day: the 13:00 close has none, so they need one more session.
    late = aaa[aaa["event_timestamp"].dt.tz_convert(NY).dt.hour >= 14]
    first_afternoon = day[late.index][late["volume_tod_ratio"].notna()].min()
    assert first_afternoon == days[21]
    assert days[20] > HALF_DAY


def test_half_day_alone_matches_the_reference():
    raw = session_bars(["X", "Y"], [HALF_DAY], seed=2, drop={("X", HALF_DAY, 41)})
    features = assert_matches_reference(split_intraday_bars(raw)[0])
    assert features["event_timestamp"].max() == pd.Timestamp("2024-11-29 13:00", tz=NY)


def test_seeded_random_sessions_match_the_reference():
    """Random holes and zero volumes over many seeds (a property check without hypothesis's
    shrinking: the reference is slow, so a handful of seeded cases)."""
    days = sessions("2024-11-25", 4)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        drop = {(t, days[int(rng.integers(4))], int(rng.integers(42))) for t in "PQ" for _ in range(8)}
        zeros = {(t, days[int(rng.integers(4))], int(rng.integers(42))) for t in "PQ" for _ in range(4)}
        raw = session_bars(["P", "Q"], days, seed=seed, drop=drop, zero_volume=zeros)
        assert_matches_reference(split_intraday_bars(raw)[0])
