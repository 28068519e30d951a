"""Synthetic adjusted bars shaped like the "Adjusted bars" frame (docs/design/frames.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stockfeatures.trading_calendar import session_close, sessions_between

SESSIONS = sessions_between("2022-01-03", "2023-12-29")


def random_walk_bars(
    ticker: str,
    sessions: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    seed: int,
    daily_vol: float = 0.02,
    start_price: float = 50.0,
) -> pd.DataFrame:
    """One ticker's bars on the given sessions: a log-normal random walk with a consistent
    open/high/low around it and log-normal volume; raw columns equal the adjusted ones."""
    rng = np.random.default_rng(seed)
    sessions = pd.DatetimeIndex(sessions)
    n = len(sessions)
    close = start_price * np.exp(np.cumsum(rng.normal(0.0003, daily_vol, n)))
    open_ = close * np.exp(rng.normal(0, daily_vol / 4, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, daily_vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, daily_vol / 2, n)))
    volume = np.round(rng.lognormal(12, 0.6, n))
    closes = session_close(sessions)
    return pd.DataFrame({
        "ticker": ticker,
        "session": sessions,
        "open": open_, "high": high, "low": low, "close": close, "volume": volume,
        "raw_close": close.copy(), "raw_volume": volume.copy(),
        "event_timestamp": closes,
        "created_timestamp": closes,
    })


def several_tickers(seed: int = 7, daily_vol: float = 0.02) -> pd.DataFrame:
    """Tickers of different lengths and start dates, one with halted sessions, plus SPY."""
    halted = SESSIONS[40:330].delete([100, 101, 200])
    parts = [
        random_walk_bars("SPY", SESSIONS[:330], seed, daily_vol / 2, 400.0),
        random_walk_bars("AAA", SESSIONS[:330], seed + 1, daily_vol),
        random_walk_bars("BBB", SESSIONS[30:315], seed + 2, daily_vol, 10.0),
        random_walk_bars("HALT", halted, seed + 3, daily_vol, 120.0),
        random_walk_bars("NEW", SESSIONS[300:330], seed + 4, daily_vol),
    ]
    return pd.concat(parts, ignore_index=True)
