"""An independent, plain-Python computation of the intraday features, bar by bar.

Written from the formula texts in intraday/spec.py with loops and dicts: it shares no code
with the vectorized grid (slots come straight from exchange_calendars' opens and closes),
so agreement between the two is evidence, not a tautology.
"""

from __future__ import annotations

import math
from datetime import timedelta

import exchange_calendars as xcals
import pandas as pd

FIVE = timedelta(minutes=5)
CALENDAR = xcals.get_calendar("XNYS", start="2023-01-01", end="2025-12-31")


def slots_of(session: pd.Timestamp) -> int:
    session = pd.Timestamp(session)
    return int((CALENDAR.closes[session] - CALENDAR.opens[session]) / FIVE)


def slot_of(bar_start: pd.Timestamp) -> tuple[pd.Timestamp, int]:
    session = pd.Timestamp(bar_start.tz_convert("America/New_York").date())
    return session, int((bar_start - CALENDAR.opens[session]) / FIVE)


def reference_features(bars: pd.DataFrame) -> dict[tuple[str, pd.Timestamp], dict[str, float]]:
    """{(ticker, event_timestamp): {feature: value, 'known': knowledge time}}."""
    book: dict[tuple[str, pd.Timestamp, int], dict] = {}
    for row in bars.to_dict("records"):
        start = row["event_timestamp"] - FIVE
        session, slot = slot_of(start)
        book[(row["ticker"], session, slot)] = row
    first_session = min(key[1] for key in book)
    last_session = max(key[1] for key in book)
    calendar = list(CALENDAR.sessions_in_range(first_session, last_session))
    out = {}
    for (ticker, session, k), bar in book.items():
        def get(j, s=session, t=ticker):
            return book.get((t, s, j))

        value: dict[str, float] = {}
        prev = get(k - 1) if k >= 1 else None
        value["ret_5m"] = bar["close"] / prev["close"] - 1 if prev else math.nan
        back = get(k - 6) if k >= 6 else None
        value["ret_30m"] = bar["close"] / back["close"] - 1 if back else math.nan
        first = get(0)
        value["ret_since_open"] = bar["close"] / first["open"] - 1 if first else math.nan
        window = [get(j) for j in range(k - 12, k + 1)] if k >= 12 else [None]
        if all(window):
            value["realized_vol_1h"] = math.sqrt(sum(
                math.log(window[i]["close"] / window[i - 1]["close"]) ** 2 for i in range(1, 13)))
        else:
            value["realized_vol_1h"] = math.nan
        traded = shares = 0.0
        for j in range(k + 1):
            b = get(j)
            if b:
                traded += (b["high"] + b["low"] + b["close"]) / 3 * b["volume"]
                shares += b["volume"]
        value["vwap_gap"] = bar["close"] / (traded / shares) - 1 if shares > 0 else math.nan
        earlier = [s for s in calendar if s < session and slots_of(s) > k][-20:]
        same_slot = [book.get((ticker, s, k)) for s in earlier]
        if len(earlier) == 20 and all(same_slot):
            mean = sum(b["volume"] for b in same_slot) / 20
            value["volume_tod_ratio"] = bar["volume"] / mean if mean > 0 else math.nan
        else:
            value["volume_tod_ratio"] = math.nan
        window = [get(j) for j in range(k - 5, k + 1)] if k >= 5 else [None]
        if all(window):
            value["range_30m"] = (max(b["high"] for b in window) - min(b["low"] for b in window)) / bar["close"]
        else:
            value["range_30m"] = math.nan
        used = [get(j) for j in range(k + 1)] + same_slot
        value["known"] = max([bar["event_timestamp"]] + [b["created_timestamp"] for b in used if b])
        out[(ticker, bar["event_timestamp"])] = value
    return out
