"""Intraday frames for tests, built from the tier's contract (never a hand-written column list).

Bars follow the 5-minute rule (stamped at the bar's end, within the session's regular
hours); feature rows carry every column of intraday_features_schema() with values that
differ per ticker, bar and feature, so a mix-up between any two shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.intraday.session_clock import bar_ends
from stockfeatures.storage.tables import INTRADAY_BARS, intraday_features_schema

SESSION = "2025-06-30"  # a Monday, full session
HALF_DAY = "2025-11-28"  # the day after Thanksgiving: closes 13:00 New York


def session_bar_ends(session: str = SESSION, count: int | None = None) -> pd.DatetimeIndex:
    day = pd.Timestamp(session, tz="America/New_York")
    ends = bar_ends(day, day + pd.Timedelta(days=1))
    return ends if count is None else ends[:count]


def make_intraday_bars(tickers=("AAA", "BBB"), session: str = SESSION, count: int = 6) -> pd.DataFrame:
    ends = session_bar_ends(session, count)
    frames = []
    for offset, ticker in enumerate(tickers):
        base = 100.0 + 10 * offset + np.arange(len(ends)) * 0.25
        frames.append(pd.DataFrame({
            "ticker": ticker, "session": pd.Timestamp(session), "open": base - 0.05,
            "high": base + 0.2, "low": base - 0.2, "close": base, "volume": 1e4 + 100.0 * offset,
            "event_timestamp": ends, "created_timestamp": ends, "source": "test",
        }))
    bars = pd.concat(frames, ignore_index=True)
    return bars[list(INTRADAY_BARS.columns)]


def make_intraday_features(tickers=("AAA", "BBB"), session: str = SESSION, count: int = 3,
                           shift: float = 0.0) -> pd.DataFrame:
    schema = intraday_features_schema()
    ends = session_bar_ends(session, count)
    frames = []
    for offset, ticker in enumerate(tickers):
        frame = pd.DataFrame({"ticker": ticker, "event_timestamp": ends, "created_timestamp": ends})
        for position, name in enumerate(schema.values):
            frame[name] = (0.001 * (position + 1) + 0.0001 * offset
                           + 0.00001 * np.arange(len(ends)) + shift).astype("float64")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[list(schema.columns)]
