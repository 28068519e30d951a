"""created_timestamp of a feature row: when its value became knowable."""

from __future__ import annotations

import pandas as pd

from stockfeatures.features import compute_features
from stockfeatures.features.spec import MAX_LOOKBACK
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars


def test_backfilled_rows_are_known_at_their_session_close():
    out = compute_features(random_walk_bars("AAA", SESSIONS[:60], seed=1), benchmark="AAA")
    assert (out["created_timestamp"] == out["event_timestamp"]).all()


def test_a_revised_bar_dates_every_row_of_every_ticker_whose_window_holds_it():
    bars = pd.concat([
        random_walk_bars("AAA", SESSIONS[:400], seed=2),
        random_walk_bars("BBB", SESSIONS[:400], seed=3),
    ], ignore_index=True)
    revised_at = pd.Timestamp("2030-01-02 09:30:00.123456789", tz="UTC")
    bars.loc[10, "created_timestamp"] = revised_at  # AAA's bar 10 was restated much later

    out = compute_features(bars, benchmark="AAA")
    aaa = out[out["ticker"] == "AAA"].reset_index(drop=True)

    affected = slice(10, 10 + MAX_LOOKBACK - 1)  # rows 10 .. 10 + MAX_LOOKBACK - 1 see bar 10
    assert (aaa.loc[affected, "created_timestamp"] == revised_at).all()
    assert (aaa.loc[:9, "created_timestamp"] == aaa.loc[:9, "event_timestamp"]).all()
    after = aaa.index >= 10 + MAX_LOOKBACK
    assert (aaa.loc[after, "created_timestamp"] == aaa.loc[after, "event_timestamp"]).all()
    # BBB's beta and rank read AAA's bars (benchmark, cross-section): same sessions re-dated.
    bbb = out[out["ticker"] == "BBB"].reset_index(drop=True)
    assert (bbb.loc[affected, "created_timestamp"] == revised_at).all()
    assert (bbb.loc[:9, "created_timestamp"] == bbb.loc[:9, "event_timestamp"]).all()
    assert (bbb.loc[after, "created_timestamp"] == bbb.loc[after, "event_timestamp"]).all()


def test_knowledge_time_is_never_before_the_session_close():
    bars = random_walk_bars("AAA", SESSIONS[:30], seed=4)
    bars["created_timestamp"] = bars["event_timestamp"] - pd.Timedelta(hours=1)
    out = compute_features(bars, benchmark="AAA")
    assert (out["created_timestamp"] == out["event_timestamp"]).all()
