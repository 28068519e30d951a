"""The panel's fast paths give exactly what the straightforward code gave (issue 12).

Each shortcut from_bars and compute take at 12.5 M bars is checked against the plain numpy /
pandas call it replaced, on random frames with halted sessions, duplicates and shuffled rows:
the duplicate check against DataFrame.duplicated, the row order against np.lexsort, the
column-major scatter/gather against row-major fancy indexing, the knowledge-time ranks
against np.unique. The whole compute_features frame was compared the same way, old code
against new, on the 10,000-ticker sample (docs: the hC report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockfeatures.features import DuplicateBars, PricePanel, compute_features
from stockfeatures.features.compute import own_latest_knowledge
from stockfeatures.features.panel import _duplicated, _ticker_session_order
from stockfeatures.features.spec import MAX_LOOKBACK
from stockfeatures.features.trailing import trailing
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars


def _codes(draw_seed: int, rows: int, tickers: int, sessions: int, nat: bool):
    rng = np.random.default_rng(draw_seed)
    ticker_codes = rng.integers(0, tickers, rows)
    session_codes = rng.integers(-1 if nat else 0, sessions, rows)
    return ticker_codes, session_codes


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 60), tickers=st.integers(1, 5),
       sessions=st.integers(1, 12), nat=st.booleans())
def test_duplicate_marks_and_row_order_match_pandas_and_lexsort(seed, rows, tickers, sessions, nat):
    ticker_codes, session_codes = _codes(seed, rows, tickers, sessions, nat)
    order = _ticker_session_order(ticker_codes, session_codes, sessions)
    np.testing.assert_array_equal(order, np.lexsort((session_codes, ticker_codes)))
    frame = pd.DataFrame({"ticker": ticker_codes, "session": session_codes})
    expected = frame.duplicated(["ticker", "session"], keep=False).to_numpy()
    np.testing.assert_array_equal(_duplicated(ticker_codes, session_codes, sessions, order), expected)


def _ragged_bars(seed: int, halts: int) -> pd.DataFrame:
    """Three tickers of different lengths, some sessions halted, rows shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for number, (first, last) in enumerate([(0, 40), (7, 33), (15, 40)]):
        bars = random_walk_bars(f"T{number}", SESSIONS[first:last], seed=seed + number)
        halted = rng.choice(len(bars), size=min(halts, len(bars) - 1), replace=False)
        parts.append(bars.drop(index=halted))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed % 1000)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**20), halts=st.integers(0, 6))
def test_column_major_wide_arrays_hold_what_row_major_fancy_indexing_held(seed, halts):
    panel = PricePanel.from_bars(_ragged_bars(seed, halts), benchmark="T0")
    values = panel.rows["close"].to_numpy()
    row_major = np.full(panel.shape, np.nan)
    row_major[panel.observation, panel.ticker_codes] = values
    np.testing.assert_array_equal(panel.to_wide(values), row_major)
    assert panel.to_wide(values).flags.f_contiguous
    # A C-ordered result (any caller's own array) gathers the same rows as an F-ordered one.
    gathered = row_major[panel.observation, panel.ticker_codes]
    np.testing.assert_array_equal(panel.to_rows(np.ascontiguousarray(row_major)).to_numpy(), gathered)
    np.testing.assert_array_equal(panel.to_rows(panel.to_wide(values)).to_numpy(), gathered)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**20), halts=st.integers(0, 6), revised=st.integers(0, 10))
def test_knowledge_ranks_by_sorted_factorize_match_np_unique(seed, halts, revised):
    bars = _ragged_bars(seed, halts)
    later = bars.index[:revised]
    bars.loc[later, "created_timestamp"] += pd.to_timedelta(np.arange(len(later)) % 3 + 1, unit="D")
    panel = PricePanel.from_bars(bars, benchmark="T0")
    created = panel.rows["created_timestamp"].array.asi8
    distinct, rank = np.unique(created, return_inverse=True)
    own = trailing(panel.to_wide(rank.astype("float64")), MAX_LOOKBACK, "max", min_periods=1)
    expected = distinct[panel.to_rows(own).to_numpy().astype("int64")]
    np.testing.assert_array_equal(own_latest_knowledge(panel), expected)


def test_duplicates_found_from_codes_are_named_like_before():
    bars = _ragged_bars(3, 2)
    twice = pd.concat([bars, bars.iloc[[4, 9]]], ignore_index=True)
    shown = twice[twice.duplicated(["ticker", "session"], keep=False)].sort_values(["ticker", "session"])
    first = f"{shown['ticker'].iloc[0]} {pd.Timestamp(shown['session'].iloc[0]).date()}"
    with pytest.raises(DuplicateBars, match=f"duplicates at {first}.*"):
        compute_features(twice, benchmark="T0")


def test_features_do_not_depend_on_the_order_rows_arrive_in():
    bars = _ragged_bars(5, 3)
    ordered = bars.sort_values(["ticker", "session"], ignore_index=True)
    pd.testing.assert_frame_equal(compute_features(bars, benchmark="T0"),
                                  compute_features(ordered, benchmark="T0"), check_exact=True)
