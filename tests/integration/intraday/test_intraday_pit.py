"""Point-in-time retrieval over the intraday view, `local` (Feast's file/DuckDB store over
features_intraday.parquet) and `prod` (FastPostgreSQLOfflineStore over features_intraday).

Rows get there the way production puts them: computed from sample bars
(compute_intraday_features, with its knowledge times) or hand-made versions, then pushed with
push_intraday_features. A backtest asks "as known at T" (filter_by_created_timestamp=True):
a row is visible at T only when its bar had ended (event_timestamp <= T) and this version was
known (created_timestamp <= T); among visible rows the latest bar, then the latest version.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockfeatures.intraday import compute_intraday_features, get_intraday_source
from stockfeatures.intraday.push import push_intraday_features
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_VIEW
from stockfeatures.retrieval import historical_features
from stockfeatures.storage.tables import intraday_features_schema
from tests.intraday_frames import make_intraday_features, session_bar_ends

pytestmark = pytest.mark.integration

US = pd.Timedelta(microseconds=1)
_names = (f"PIT{i}" for i in itertools.count())


def values_at(store, ticker: str, instants, feature: str = "ret_5m") -> list[float]:
    """One value (NaN when nothing is visible) per instant, in the instants' order."""
    entity = pd.DataFrame({"ticker": ticker, "event_timestamp": pd.DatetimeIndex(instants),
                           "query": range(len(instants))})
    frame = historical_features(store, entity, features=[f"{INTRADAY_VIEW}:{feature}"], as_known_at=True)
    frame = frame.sort_values("query")  # Feast's file store returns rows in its own order
    return [float(v) if v is not None else math.nan for v in frame[feature]]


def test_computed_sample_rows_are_invisible_before_their_bar_ends(push_stack):
    ticker = "AAPL"
    session = pd.Timestamp("2025-06-30")
    end_of_day = pd.Timestamp("2025-07-01", tz="UTC")
    bars = get_intraday_source("sample", tickers=[ticker]).fetch([ticker], session, session,
                                                                  as_of=end_of_day).bars
    features = compute_intraday_features(bars)
    assert (features["created_timestamp"] >= features["event_timestamp"]).all()
    push_intraday_features(push_stack.store, push_stack.warehouse, features)

    ends = features["event_timestamp"].iloc[[0, 1, 10, 40]]
    instants = [t for end in ends for t in (end - US, end, end + pd.Timedelta(minutes=4, seconds=59))]
    got = values_at(push_stack.store, ticker, instants, "ret_since_open")

    by_end = features.set_index("event_timestamp")["ret_since_open"]
    previous = {end: by_end.get(end - pd.Timedelta(minutes=5), math.nan) for end in ends}
    want = [v for end in ends for v in (previous[end], by_end[end], by_end[end])]
    assert np.allclose(got, want, equal_nan=True), (got, want)
    assert math.isnan(got[0])  # before the first bar of the session ends, nothing at all


def test_a_corrected_bar_is_hidden_from_instants_before_its_knowledge_time(push_stack):
    ticker = next(_names)
    rows = make_intraday_features(tickers=(ticker,), count=3)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows)
    last_end = rows["event_timestamp"].iloc[-1]
    learned = last_end + pd.Timedelta(minutes=7)
    corrected = rows.tail(1).assign(created_timestamp=learned, ret_5m=0.5)
    assert push_intraday_features(push_stack.store, push_stack.warehouse, corrected).pushed == 1

    original = float(rows["ret_5m"].iloc[-1])
    got = values_at(push_stack.store, ticker,
                    [last_end, learned - US, learned, learned + pd.Timedelta(hours=1)])
    assert got == pytest.approx([original, original, 0.5, 0.5])


def test_a_bar_known_late_is_not_seen_at_its_end_and_the_previous_bar_is(push_stack):
    ticker = next(_names)
    rows = make_intraday_features(tickers=(ticker,), count=2)
    late = rows["event_timestamp"].iloc[1] + pd.Timedelta(minutes=3)  # delivered 3 minutes late
    rows.loc[1, "created_timestamp"] = late
    push_intraday_features(push_stack.store, push_stack.warehouse, rows)

    got = values_at(push_stack.store, ticker, [rows["event_timestamp"].iloc[1], late - US, late])
    first, second = rows["ret_5m"].tolist()
    assert got == pytest.approx([first, first, second])


# --- property: no value is visible before its bar's end and its knowledge time -------------

ENDS = session_bar_ends(count=12)


@st.composite
def versions(draw):
    """Bitemporal rows of one ticker: bars (a subset of the session's first 12), each with 1-3
    versions known 0..20 minutes after the bar's end (the first version maybe late)."""
    chosen = draw(st.lists(st.integers(0, len(ENDS) - 1), min_size=1, max_size=8, unique=True))
    out = []
    for index in sorted(chosen):
        delays = draw(st.lists(st.integers(0, 20 * 60), min_size=1, max_size=3, unique=True))
        out.extend((ENDS[index], ENDS[index] + pd.Timedelta(seconds=d)) for d in sorted(delays))
    return out


@st.composite
def instants(draw):
    """Query instants around the bars: exactly on an end or a knowledge time, or 1 us either side."""
    base = draw(st.lists(st.integers(-2, len(ENDS) + 2), min_size=1, max_size=10))
    offsets = draw(st.lists(st.sampled_from([-1, 0, 1, 60_000_000, 181_000_000, 600_000_000]),
                            min_size=len(base), max_size=len(base)))
    return [ENDS[0] + pd.Timedelta(minutes=5 * b) + pd.Timedelta(microseconds=o)
            for b, o in zip(base, offsets, strict=True)]


def reference(rows: pd.DataFrame, at: pd.Timestamp) -> float:
    visible = rows[(rows["event_timestamp"] <= at) & (rows["created_timestamp"] <= at)]
    if visible.empty:
        return math.nan
    return float(visible.sort_values(["event_timestamp", "created_timestamp"])["ret_5m"].iloc[-1])


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=versions(), at=instants())
def test_no_value_is_visible_before_its_bar_end_and_knowledge_time(push_stack, rows, at):
    ticker = next(_names)
    schema = intraday_features_schema()
    frame = pd.DataFrame(rows, columns=["event_timestamp", "created_timestamp"])
    frame.insert(0, "ticker", ticker)
    for position, name in enumerate(INTRADAY_FEATURE_NAMES):
        # Every version's value is its own id, so the answer names the row it came from.
        frame[name] = (np.arange(len(frame)) + 1.0) / 1000 + position / 10
    frame = frame[list(schema.columns)]
    for _, version in frame.groupby("created_timestamp", sort=True):  # pushed as learned
        push_intraday_features(push_stack.store, push_stack.warehouse, version)

    got = values_at(push_stack.store, ticker, at)

    by_value = frame.set_index(frame["ret_5m"].round(9))
    for instant, value in zip(at, got, strict=True):
        assert value == pytest.approx(reference(frame, instant), nan_ok=True), instant
        if not math.isnan(value):
            row = by_value.loc[round(value, 9)]
            assert row["event_timestamp"] <= instant and row["created_timestamp"] <= instant
