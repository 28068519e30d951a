"""The per-cycle computation equals the full one, bit for bit, for the rows it returns."""

import pandas as pd
import pytest

from stockfeatures.intraday.compute import (
    compute_intraday_features,
    history_start,
    latest_intraday_features,
)
from stockfeatures.intraday.normalize import split_intraday_bars
from tests.unit.intraday.synthetic import session_bars, sessions

NY = "America/New_York"


@pytest.fixture(scope="module")
def history():
    days = sessions("2024-10-21", 32)  # through Dec 4, the 13:00 close of Nov 29 inside
    raw = session_bars(["AAA", "BBB", "CCC"], days, seed=4, drop={("BBB", days[-1], 3)},
                       zero_volume={("CCC", days[-2], 50)})
    return split_intraday_bars(raw)[0], days


@pytest.mark.parametrize("cut", ["2024-12-04 15:50", "2024-12-04 09:30", "2024-12-03 14:05", "2024-12-02 12:00"])
def test_latest_cycle_rows_equal_the_full_computation(history, cut):
    bars, _ = history
    after = pd.Timestamp(cut, tz=NY)
    full = compute_intraday_features(bars)
    expected = full[full["event_timestamp"] > after].reset_index(drop=True)
    visible = bars[bars["event_timestamp"] <= after + pd.Timedelta(minutes=5)]
    got = latest_intraday_features(visible, after)
    want = expected[expected["event_timestamp"] <= after + pd.Timedelta(minutes=5)].reset_index(drop=True)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_history_from_history_start_is_enough(history):
    bars, days = history
    start = history_start(days[-1])
    assert start == pd.Timestamp("2024-11-04")  # 20 full-clock sessions back, Nov 29 skipped
    opening = pd.Timestamp(start).tz_localize(NY) + pd.Timedelta(hours=9, minutes=30)
    trimmed = bars[bars["event_timestamp"] > opening]
    after = pd.Timestamp(f"{days[-1].date()} 09:30", tz=NY)
    full = compute_intraday_features(bars)
    pd.testing.assert_frame_equal(latest_intraday_features(trimmed, after),
                                  full[full["event_timestamp"] > after].reset_index(drop=True), check_exact=True)
    assert latest_intraday_features(trimmed, after)["volume_tod_ratio"].notna().sum() > 100


def test_no_new_bars_gives_no_rows(history):
    bars, _ = history
    assert latest_intraday_features(bars, bars["event_timestamp"].max()).empty
