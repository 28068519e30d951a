"""How read arguments become bounds on event_timestamp and a knowledge time."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.storage import InvalidQuery
from stockfeatures.storage.query_window import query_window


def test_plain_dates_cover_whole_sessions_inclusive():
    window = query_window(start="2024-01-03", end="2024-01-04", as_of=pd.Timestamp("2025-01-01", tz="UTC"))
    assert window.lower == pd.Timestamp("2024-01-03", tz="UTC")
    assert window.upper == pd.Timestamp("2024-01-05", tz="UTC")


def test_instants_are_inclusive_bounds():
    close = pd.Timestamp("2024-01-04 16:00", tz="America/New_York")
    window = query_window(end=close)
    assert window.upper > close
    assert window.upper - close == pd.Timedelta(microseconds=1)


def test_tickers_are_upper_cased_and_deduplicated():
    assert query_window(["aaa", "AAA", "bbb"]).tickers == ("AAA", "BBB")
    assert query_window("spy").tickers == ("SPY",)


def test_missing_as_of_means_now():
    before = pd.Timestamp.now(tz="UTC")
    assert query_window().as_of >= before


def test_naive_as_of_and_naive_instants_are_refused():
    with pytest.raises(InvalidQuery, match="as_of"):
        query_window(as_of=pd.Timestamp("2024-01-04 21:00"))
    with pytest.raises(InvalidQuery, match="naive instant"):
        query_window(start=pd.Timestamp("2024-01-04 21:00"))
