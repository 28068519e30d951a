"""Real daily bars (GOOG 2004-2013, S&P 500 and NASDAQ Composite 1999-2018) through the CSV
path in both profiles: every feature against an independent formula, the point-in-time rule
on early closes, holidays and unscheduled closures (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.retrieval import historical_features
from stockfeatures.trading_calendar import is_session
from tests.realdata.data import BENCHMARK, TICKERS
from tests.realdata.reference import expected_features

pytestmark = pytest.mark.integration
NEW_YORK = "America/New_York"
TOLERANCE = 1e-9  # absolute, or relative to |value| where that is above 1 (dollar volumes ~1e12)


def _stored(stack) -> pd.DataFrame:
    stored = stack.warehouse.read_features()
    stored["date"] = stored["event_timestamp"].dt.tz_convert(NEW_YORK).dt.strftime("%Y-%m-%d")
    return stored.sort_values(["ticker", "date"]).reset_index(drop=True)


def feature_differences(stack) -> pd.DataFrame:
    """Per feature: max |ours - reference|, max relative difference, rows compared."""
    ours = _stored(stack).set_index(["ticker", "date"])
    theirs = expected_features(stack.bars, BENCHMARK).set_index(["ticker", "date"]).loc[ours.index]
    rows = {}
    for name in FEATURE_NAMES:
        a, b = ours[name].to_numpy(float), theirs[name].to_numpy(float)
        assert (np.isnan(a) == np.isnan(b)).all(), f"{name}: NaN in different rows"
        both = ~np.isnan(a)
        diff = np.abs(a[both] - b[both])
        rows[name] = {"max_abs_diff": diff.max(initial=0.0),
                      "max_rel_diff": (diff / np.maximum(np.abs(b[both]), 1.0)).max(initial=0.0),
                      "values": int(both.sum())}
    return pd.DataFrame(rows).T


def test_every_real_bar_becomes_one_stored_feature_row(real_stack):
    stored = _stored(real_stack)
    assert len(stored) == len(real_stack.bars) == 2148 + 5031 + 5031
    assert real_stack.warehouse.read_quarantine().empty


def test_every_feature_matches_the_independent_formula(real_stack):
    table = feature_differences(real_stack)
    print(f"\n{real_stack.profile}: per-feature differences against tests/realdata/reference.py\n"
          f"{table.to_string()}")
    assert set(table.index) == set(FEATURE_NAMES)
    assert (table["values"] > 0).all()
    assert (table["max_rel_diff"] <= TOLERANCE).all(), table[table["max_rel_diff"] > TOLERANCE]


def test_history_before_the_benchmark_starts_is_kept_and_beta_waits_for_the_overlap(real_stack):
    """GOOG as the benchmark: the indexes' 1999-2004 history is stored, beta_60d is NaN until
    61 sessions shared with GOOG, then defined on every row (finding 4 on real data)."""
    from stockfeatures.prices.adjust import adjust_bars, latest_versions
    from stockfeatures.validation.feature_passes import gate_feature_passes

    bars = adjust_bars(latest_versions(real_stack.warehouse.read_bars()), real_stack.warehouse.read_actions())
    gate = gate_feature_passes(bars, benchmark="GOOG")
    assert gate.passed and len(gate.accepted) == len(bars)
    spx = gate.accepted[gate.accepted["ticker"] == BENCHMARK].sort_values("event_timestamp")
    sessions = spx["event_timestamp"].dt.tz_convert(NEW_YORK).dt.strftime("%Y-%m-%d").to_numpy()
    first_shared = int(np.flatnonzero(sessions == "2004-08-19")[0])
    beta = spx["beta_60d"].to_numpy()
    assert np.isnan(beta[: first_shared + 60]).all()
    assert np.isfinite(beta[first_shared + 60: first_shared + 2148]).all()
    assert np.isnan(beta[first_shared + 2148:]).all()  # GOOG's file ends in 2013


@pytest.mark.parametrize(("session", "close_utc"), [
    ("2012-11-23", "2012-11-23 18:00"),  # day after Thanksgiving: 13:00 New York
    ("2012-07-03", "2012-07-03 17:00"),  # eve of Independence Day, summer time: 13:00 New York
    ("2012-12-24", "2012-12-24 18:00"),
    ("2012-11-26", "2012-11-26 21:00"),  # an ordinary Monday: 16:00 New York
])
def test_event_timestamp_is_the_session_close_early_closes_included(real_stack, session, close_utc):
    stored = _stored(real_stack)
    rows = stored[stored["date"] == session]
    assert sorted(rows["ticker"]) == sorted(TICKERS)
    assert (rows["event_timestamp"] == pd.Timestamp(close_utc, tz="UTC")).all()


@pytest.mark.parametrize(("closed", "before", "after", "tickers"), [
    (["2012-10-29", "2012-10-30"], "2012-10-26", "2012-10-31", TICKERS),  # Hurricane Sandy
    (["2004-06-11"], "2004-06-10", "2004-06-14", ("^GSPC", "^IXIC")),  # President Reagan's funeral
    (["2007-01-02"], "2006-12-29", "2007-01-03", TICKERS),  # President Ford's day of mourning
    (["2012-11-22"], "2012-11-21", "2012-11-23", TICKERS),  # Thanksgiving
])
def test_closures_have_no_bar_and_the_next_return_spans_them(real_stack, closed, before, after, tickers):
    assert not is_session(pd.to_datetime(closed)).any()
    stored = _stored(real_stack).set_index(["ticker", "date"])
    bars = real_stack.bars.set_index(["ticker", "date"])
    for ticker in tickers:
        assert not any((ticker, day) in stored.index for day in closed)
        expected = bars.loc[(ticker, after), "close"] / bars.loc[(ticker, before), "close"] - 1
        assert stored.loc[(ticker, after), "ret_1d"] == pytest.approx(expected, rel=1e-12)


def test_backtest_sees_an_early_close_bar_from_1pm_not_from_4pm(real_stack):
    """As of 13:00 New York on 2012-11-23 the day's bar is known; a microsecond before, the
    backtest still sees Wednesday's (Thursday was Thanksgiving); during the Sandy closure it
    sees Friday 2012-10-26's."""
    close = pd.Timestamp("2012-11-23 13:00", tz=NEW_YORK).tz_convert("UTC")
    times = [close - pd.Timedelta(microseconds=1), close, pd.Timestamp("2012-11-23 15:59", tz=NEW_YORK),
             pd.Timestamp("2012-10-30 16:00", tz=NEW_YORK)]
    entity_df = pd.DataFrame({"ticker": "GOOG", "event_timestamp": pd.to_datetime(times, utc=True)})
    history = historical_features(real_stack.store, entity_df, features=["ret_1d"])
    history["asked"] = pd.to_datetime(history["event_timestamp"], utc=True)
    got = history.sort_values("asked")["ret_1d"].to_numpy()
    stored = _stored(real_stack).set_index(["ticker", "date"])["ret_1d"]
    want = [stored[("GOOG", d)] for d in ("2012-10-26", "2012-11-21", "2012-11-23", "2012-11-23")]
    np.testing.assert_array_equal(got, want)
