"""Freshness of the push-fed intraday views (5-minute bars), by the XNYS calendar.

The rule (issue 13): during regular hours a value is fresh only while its bar ended no more
than one bar (5 minutes) plus a grace ago; outside hours the session's last bar (the one
ending at the close, 13:00 New York on an early close) stays valid until the next open; at
the next open every value of an earlier session is stale. All three are one formula over
the interval from one session's open to the next session's open:

    fresh  <=>  bar_end >= min(now - (5 min + grace), close of that session)

During hours now - (5 min + grace) is before the close, so the first term rules; after the
close it catches up with the close 5 min + grace later (a 15:55 bar is not stale the instant
the market closes: the 16:00 bar may still be on its way) and then the close holds overnight,
over weekends and holidays, until the next open. The interval is computed once per session
(one binary search in the calendar's opens); the hot path does a subtraction and a min.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday.spec import BAR_LENGTH
from stockfeatures.serving.freshness import Clock, utc_now

BAR_S = BAR_LENGTH.total_seconds()
DEFAULT_GRACE_S = 60.0


@dataclass(frozen=True)
class IntradayWindow:
    """Instants in (valid_from_s, valid_until_s]: one session's open to the next open.

    session: the session opened at valid_from_s (None before the calendar's first session).
    close_s: that session's close, its last bar's end. max_age_s: 5 minutes plus the grace.
    """

    session: pd.Timestamp | None
    valid_from_s: float
    valid_until_s: float
    close_s: float
    max_age_s: float

    def fresh_from_s(self, now_s: float) -> float:
        """The oldest bar end still served as fresh at now_s (an instant of this window)."""
        return min(now_s - self.max_age_s, self.close_s)

    def in_hours(self, now_s: float) -> bool:
        """Whether now_s is in the regular hours of the session (open < now <= close)."""
        return self.valid_from_s < now_s <= self.close_s


def _epoch_seconds(stamps: pd.Series) -> np.ndarray:
    return stamps.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9


def intraday_window(now: datetime | pd.Timestamp, max_age_s: float) -> IntradayWindow:
    """The window containing `now` (timezone-aware): the latest open strictly before it."""
    stamp = pd.Timestamp(now)
    if stamp.tzinfo is None:
        raise ValueError(f"timestamp {now!r} has no timezone; every timestamp here is UTC-aware")
    cal = trading_calendar.calendar()
    opens, closes = _epoch_seconds(cal.opens), _epoch_seconds(cal.closes)
    now_s = stamp.timestamp()
    position = int(np.searchsorted(opens, now_s, side="left")) - 1
    until = float(opens[position + 1]) if position + 1 < len(opens) else float("inf")
    if position < 0:
        return IntradayWindow(None, float("-inf"), until, float("-inf"), max_age_s)
    return IntradayWindow(cal.opens.index[position], float(opens[position]), until,
                          float(closes[position]), max_age_s)


class IntradayFreshnessClock:
    """The intraday rule at `clock()`; the window is rebuilt once per session, not per read."""

    def __init__(self, clock: Clock = utc_now, grace_s: float = DEFAULT_GRACE_S):
        if grace_s < 0:
            raise ValueError(f"the intraday grace must be >= 0 seconds, got {grace_s!r}")
        self.clock = clock
        self.max_age_s = BAR_S + grace_s
        self._window: IntradayWindow | None = None
        self._lock = threading.Lock()

    def window(self, now_s: float) -> IntradayWindow:
        window = self._window
        if window is not None and window.valid_from_s < now_s <= window.valid_until_s:
            return window
        with self._lock:
            window = intraday_window(pd.Timestamp(now_s, unit="s", tz="UTC"), self.max_age_s)
            self._window = window
        return window

    def fresh_from_s(self, now_s: float) -> float:
        return self.window(now_s).fresh_from_s(now_s)

    def is_fresh(self, bar_end_s: float | None, now: datetime | None = None) -> bool:
        if bar_end_s is None:
            return False
        now_s = (now or self.clock()).timestamp()
        return bar_end_s >= self.fresh_from_s(now_s)
