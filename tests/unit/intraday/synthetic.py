"""Synthetic 5-minute sessions for tests: a seeded random walk per ticker, with holes on demand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.unit.intraday.reference import CALENDAR, FIVE, slots_of


def session_bars(tickers, sessions, seed: int = 0, *, drop=(), zero_volume=(), halted=None) -> pd.DataFrame:
    """Raw bars (ticker, bar_start, OHLCV) of every slot of `sessions`.

    drop: (ticker, session, slot) triples left out; zero_volume: triples with volume 0;
    halted: (ticker, session, first_slot, last_slot) with no bars in between (inclusive).
    """
    rng = np.random.default_rng(seed)
    rows = []
    drop, zero_volume = set(drop), set(zero_volume)
    for ticker in tickers:
        price = rng.uniform(20, 200)
        for session in map(pd.Timestamp, sessions):
            opening = CALENDAR.opens[session]
            for k in range(slots_of(session)):
                open_ = price
                price = price * float(np.exp(rng.normal(0, 0.002)))
                high = max(open_, price) * (1 + abs(rng.normal(0, 0.001)))
                low = min(open_, price) * (1 - abs(rng.normal(0, 0.001)))
                volume = float(rng.integers(100, 5000))
                key = (ticker, session, k)
                if key in drop:
                    continue
                if halted and ticker == halted[0] and session == pd.Timestamp(halted[1]) and halted[2] <= k <= halted[3]:
                    continue
                rows.append({"ticker": ticker, "bar_start": opening + k * FIVE, "open": open_,
                             "high": high, "low": low, "close": price,
                             "volume": 0.0 if key in zero_volume else volume})
    return pd.DataFrame(rows)


def sessions(start: str, count: int) -> list[pd.Timestamp]:
    days = CALENDAR.sessions_in_range(pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=3 * count + 10))
    return list(days[:count])
