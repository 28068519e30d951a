import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockfeatures import trading_calendar
from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.prices.frames import ADJUSTED_BAR_COLUMNS, empty_actions
from stockfeatures.prices.normalize import InvalidActions, normalize_actions, normalize_bars

SESSIONS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]


def actions(*rows, known_at=None):
    frame = pd.DataFrame(rows, columns=["ticker", "ex_date", "kind", "value"])
    return normalize_actions(frame, known_at=known_at)


def ret_1d(closes) -> np.ndarray:
    closes = np.asarray(closes, dtype=float)
    return closes[1:] / closes[:-1] - 1


def test_adjusted_frame_has_the_contract_columns(make_bars):
    bars = normalize_bars(make_bars("AAPL", SESSIONS[:2], [10.0, 11.0]))
    assert list(adjust_bars(bars, empty_actions()).columns) == list(ADJUSTED_BAR_COLUMNS)


def test_without_actions_adjusted_prices_are_the_raw_prices(make_bars):
    bars = normalize_bars(make_bars("AAPL", SESSIONS, [10.0, 11.0, 12.0, 11.5, 11.0, 12.5]))
    adjusted = adjust_bars(bars, empty_actions())
    for column in ("open", "high", "low", "close", "volume"):
        assert adjusted[column].tolist() == bars[column].tolist()
    assert adjusted["raw_close"].tolist() == bars["close"].tolist()


def test_dividend_factor_matches_a_hand_computed_example(make_bars):
    # Dividend 2.04 with ex-date 2024-01-04; the close before it is 102, so every earlier
    # bar is multiplied by 1 - 2.04 / 102 = 0.98: 100 -> 98, 102 -> 99.96.
    bars = normalize_bars(make_bars("KO", SESSIONS[:4], [100.0, 102.0, 99.0, 101.0], volume=500.0))
    adjusted = adjust_bars(bars, actions(("KO", "2024-01-04", "dividend", 2.04)))
    np.testing.assert_allclose(adjusted["close"], [98.0, 99.96, 99.0, 101.0], rtol=1e-12)
    np.testing.assert_allclose(adjusted["high"], [98.98, 100.9596, 99.99, 102.01], rtol=1e-12)
    assert adjusted["volume"].tolist() == [500.0] * 4
    assert adjusted["raw_close"].tolist() == [100.0, 102.0, 99.0, 101.0]


def test_split_adjusted_returns_equal_the_unsplit_series_across_the_split(make_bars):
    economic = [400.0, 404.0, 398.0, 410.0, 402.0, 406.0]
    # 4-for-1 with ex-date 2024-01-05: from then on raw prices are a quarter, volume 4x.
    raw_closes = economic[:3] + [c / 4 for c in economic[3:]]
    raw = make_bars("NVDA", SESSIONS, raw_closes)
    raw.loc[3:, "volume"] *= 4
    adjusted = adjust_bars(normalize_bars(raw), actions(("NVDA", "2024-01-05", "split", 4.0)))
    np.testing.assert_allclose(ret_1d(adjusted["close"]), ret_1d(economic), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(adjusted["close"], [c / 4 for c in economic], rtol=1e-12)
    np.testing.assert_allclose(adjusted["low"], [c / 4 * 0.99 for c in economic], rtol=1e-12)
    assert adjusted["volume"].tolist() == [4000.0] * 6
    assert adjusted["raw_volume"].tolist() == [1000.0] * 3 + [4000.0] * 3


def test_the_latest_bar_keeps_its_raw_values(make_bars):
    bars = normalize_bars(make_bars("NVDA", SESSIONS, [40.0, 41.0, 10.5, 10.0, 10.2, 10.4]))
    adjusted = adjust_bars(
        bars,
        actions(("NVDA", "2024-01-04", "split", 4.0), ("NVDA", "2024-01-08", "dividend", 0.1)),
    )
    last_raw, last_adjusted = bars.iloc[-1], adjusted.iloc[-1]
    for column in ("open", "high", "low", "close", "volume"):
        assert last_adjusted[column] == last_raw[column]


def test_adjusting_adjusted_bars_again_changes_nothing(make_bars):
    bars = normalize_bars(make_bars("NVDA", SESSIONS, [40.0, 41.0, 10.5, 10.0, 10.2, 10.4]))
    acts = actions(("NVDA", "2024-01-04", "split", 4.0), ("NVDA", "2024-01-08", "dividend", 0.1))
    once = adjust_bars(bars, acts)
    twice = adjust_bars(once, acts)
    pd.testing.assert_frame_equal(twice, once, rtol=1e-12)


def test_factors_compound_split_and_dividend_on_the_same_ex_date(make_bars):
    # Same-day 2-for-1 split and 1.00 dividend: earlier bars get (1/2) * (1 - 1/50) = 0.49.
    bars = normalize_bars(make_bars("X", SESSIONS[:3], [49.0, 50.0, 24.0]))
    adjusted = adjust_bars(
        bars, actions(("X", "2024-01-04", "split", 2.0), ("X", "2024-01-04", "dividend", 1.0))
    )
    np.testing.assert_allclose(adjusted["close"], [24.01, 24.5, 24.0], rtol=1e-12)
    assert adjusted["volume"].tolist() == [2000.0, 2000.0, 1000.0]


def test_actions_of_one_ticker_do_not_touch_another(make_bars):
    bars = normalize_bars(pd.concat([make_bars("A", SESSIONS[:3], [8.0, 8.0, 2.0]),
                                     make_bars("B", SESSIONS[:3], [8.0, 8.0, 8.0])]))
    adjusted = adjust_bars(bars, actions(("A", "2024-01-04", "split", 4.0)))
    assert adjusted.loc[adjusted["ticker"] == "A", "close"].tolist() == [2.0, 2.0, 2.0]
    assert adjusted.loc[adjusted["ticker"] == "B", "close"].tolist() == [8.0, 8.0, 8.0]


def test_an_action_on_a_halted_session_still_adjusts_the_bars_before_it(make_bars):
    # No bar on the 2024-01-04 ex-date (halt): the split still applies to bars before it.
    bars = normalize_bars(make_bars("H", ["2024-01-02", "2024-01-03", "2024-01-05"], [20.0, 20.0, 10.0]))
    adjusted = adjust_bars(bars, actions(("H", "2024-01-04", "split", 2.0)))
    assert adjusted["close"].tolist() == [10.0, 10.0, 10.0]


def test_actions_after_the_last_bar_or_before_the_first_are_ignored(make_bars):
    bars = normalize_bars(make_bars("X", SESSIONS[1:4], [10.0, 11.0, 12.0]))
    adjusted = adjust_bars(
        bars,
        actions(("X", "2024-01-02", "split", 3.0), ("X", "2024-01-09", "split", 2.0),
                ("X", "2024-01-03", "dividend", 1.0)),
    )
    assert adjusted["close"].tolist() == [10.0, 11.0, 12.0]


def test_a_dividend_not_below_the_previous_close_is_refused(make_bars):
    bars = normalize_bars(make_bars("X", SESSIONS[:2], [2.0, 0.5]))
    with pytest.raises(InvalidActions, match="X 2024-01-03 dividend 2.5 vs close 2.0"):
        adjust_bars(bars, actions(("X", "2024-01-03", "dividend", 2.5)))


def test_an_action_learned_late_makes_its_ex_date_bar_known_late(make_bars):
    bars = normalize_bars(make_bars("X", SESSIONS[:4], [40.0, 40.0, 10.0, 10.0]))
    learned = pd.Timestamp("2024-03-01 12:00", tz="UTC")
    adjusted = adjust_bars(bars, actions(("X", "2024-01-04", "split", 4.0), known_at=learned))
    expected = list(bars["created_timestamp"])
    expected[2] = learned
    assert list(adjusted["created_timestamp"]) == expected


def test_actions_not_yet_known_at_as_of_are_not_applied(make_bars):
    bars = normalize_bars(make_bars("X", SESSIONS[:4], [40.0, 40.0, 10.0, 10.0]))
    learned = pd.Timestamp("2024-03-01", tz="UTC")
    acts = actions(("X", "2024-01-04", "split", 4.0), known_at=learned)
    before = adjust_bars(bars, acts, as_of=pd.Timestamp("2024-02-01", tz="UTC"))
    after = adjust_bars(bars, acts, as_of=pd.Timestamp("2024-03-02", tz="UTC"))
    assert before["close"].tolist() == [40.0, 40.0, 10.0, 10.0]
    assert after["close"].tolist() == [10.0, 10.0, 10.0, 10.0]


# --- versions ------------------------------------------------------------------------


@pytest.fixture
def revised(make_bars):
    """AAPL 2024-01-03 first printed at 11.0, corrected to 11.5 on 2024-01-10."""
    first = normalize_bars(make_bars("AAPL", SESSIONS[:3], [10.0, 11.0, 12.0]))
    fix = normalize_bars(make_bars("AAPL", ["2024-01-03"], [11.5]),
                         known_at=pd.Timestamp("2024-01-10 15:00", tz="UTC"))
    return pd.concat([fix, first], ignore_index=True)


def test_latest_versions_keeps_the_newest_revision_of_each_bar(revised):
    latest = latest_versions(revised)
    assert latest["close"].tolist() == [10.0, 11.5, 12.0]


def test_a_restated_bar_is_hidden_from_earlier_as_of_views(revised):
    latest = latest_versions(revised, as_of=pd.Timestamp("2024-01-09", tz="UTC"))
    assert latest["close"].tolist() == [10.0, 11.0, 12.0]


def test_a_bar_is_invisible_before_its_session_close(revised):
    close_of_jan_4 = trading_calendar.session_close(["2024-01-04"])[0]
    just_before = latest_versions(revised, as_of=close_of_jan_4 - pd.Timedelta("1ns"))
    at_close = latest_versions(revised, as_of=close_of_jan_4)
    assert just_before["session"].max() == pd.Timestamp("2024-01-03")
    assert at_close["session"].max() == pd.Timestamp("2024-01-04")


def test_as_of_must_be_timezone_aware(revised):
    with pytest.raises(ValueError, match="no timezone"):
        latest_versions(revised, as_of=pd.Timestamp("2024-01-09"))


def test_adjust_uses_the_latest_version_of_each_bar(revised):
    adjusted = adjust_bars(revised, empty_actions())
    assert adjusted["raw_close"].tolist() == [10.0, 11.5, 12.0]
    assert adjusted["created_timestamp"].iloc[1] == pd.Timestamp("2024-01-10 15:00", tz="UTC")


# --- property ------------------------------------------------------------------------

_SESSIONS_2024 = trading_calendar.sessions_between("2024-01-02", "2024-03-28")


@settings(max_examples=40, deadline=None)
@given(
    closes=st.lists(st.floats(1.0, 1000.0), min_size=3, max_size=40),
    events=st.lists(
        st.tuples(st.integers(1, 39), st.sampled_from([0.1, 0.5, 2.0, 3.0, 4.0, 7.0])), max_size=4,
        unique_by=lambda e: e[0],
    ),
)
def test_split_adjusted_returns_always_equal_the_economic_returns(closes, events):
    n = len(closes)
    sessions = _SESSIONS_2024[:n]
    events = [(i, r) for i, r in events if i < n]
    shares = np.ones(n)
    for i, ratio in events:
        shares[i:] *= ratio
    raw = pd.DataFrame({"ticker": "P", "session": sessions, "open": closes / shares,
                        "high": closes / shares, "low": closes / shares,
                        "close": closes / shares, "volume": 100.0 * shares})
    acts = (actions(*[("P", sessions[i], "split", r) for i, r in events])
            if events else empty_actions())
    adjusted = adjust_bars(normalize_bars(raw), acts)
    np.testing.assert_allclose(ret_1d(adjusted["close"]), ret_1d(closes), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(adjusted["volume"], 100.0 * shares[-1], rtol=1e-9)


def test_frames_read_back_with_microsecond_dates_and_string_dtype_adjust_the_same(make_bars):
    bars = normalize_bars(make_bars("X", SESSIONS[:3], [40.0, 40.0, 10.0]))
    acts = actions(("X", "2024-01-04", "split", 4.0))
    stored_bars = bars.astype({"session": "datetime64[us]", "ticker": "string"})
    stored_acts = acts.astype({"ex_date": "datetime64[us]", "ticker": "string"})
    assert adjust_bars(stored_bars, stored_acts)["close"].tolist() == [10.0, 10.0, 10.0]
