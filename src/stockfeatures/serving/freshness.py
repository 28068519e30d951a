"""Freshness by the trading calendar, which Feast does not enforce online (feast-dev/feast#6821).

A value is fresh when its event_timestamp is the close of the latest completed XNYS session
at request time: a Friday value stays fresh until Monday's close, a value from the day
before a holiday stays fresh through the holiday. The expected close only changes at the
next session close, so it is computed once per session and reused: the hot path compares
two integers instead of searching the calendar on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from stockfeatures.trading_calendar import calendar, latest_completed_session, session_close

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionWindow:
    """Instants (epoch seconds) in [valid_from, valid_until) share one expected close."""

    expected_close: pd.Timestamp
    expected_close_s: int
    valid_from_s: float
    valid_until_s: float


def session_window(now: datetime) -> SessionWindow:
    session = latest_completed_session(now)
    close = session_close([session])[0]
    sessions = calendar().sessions
    position = sessions.get_loc(session)
    if position + 1 < len(sessions):
        next_close = session_close([sessions[position + 1]])[0].timestamp()
    else:
        next_close = float("inf")
    return SessionWindow(close, int(close.timestamp()), close.timestamp(), next_close)


class FreshnessClock:
    """Answers "which close must a fresh value carry" for `clock()`; clock is injectable."""

    def __init__(self, clock: Clock = utc_now):
        self.clock = clock
        self._window: SessionWindow | None = None
        self._lock = threading.Lock()

    def window(self, now: datetime | None = None) -> SessionWindow:
        now = now or self.clock()
        stamp = now.timestamp()
        window = self._window
        if window is not None and window.valid_from_s <= stamp < window.valid_until_s:
            return window
        with self._lock:
            window = session_window(now)
            self._window = window
        return window

    def is_fresh(self, event_timestamp_s: float | None, now: datetime | None = None) -> bool:
        if event_timestamp_s is None:
            return False
        return event_timestamp_s >= self.window(now).expected_close_s
