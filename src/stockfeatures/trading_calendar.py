"""Trading sessions and the instant a daily bar becomes knowable.

The rule "a bar is invisible before its session close" lives here and nowhere else:
event_timestamp = the XNYS close of the bar's session (16:00 America/New_York, 13:00 on
early closes), taken from exchange_calendars rather than a hand-written holiday list.

The calendar's window starts at STOCKFEATURES_CALENDAR_START (default 1970-01-01; XNYS is
available back to 1885) and ends about a year after today (exchange_calendars' default). It
is built once per process (0.38 s from 1970, 0.30 s from 1990: benchmarks/bench_ingest.py). A date outside
the window is not judged a non-session: it is reported as outside, naming the setting.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

EXCHANGE = "XNYS"
CALENDAR_START_SETTING = "STOCKFEATURES_CALENDAR_START"
DEFAULT_CALENDAR_START = "1970-01-01"


class NotASession(ValueError):
    """A date given as a trading session is not an XNYS session (weekend or holiday)."""


@lru_cache(maxsize=1)
def calendar() -> xcals.ExchangeCalendar:
    start = os.environ.get(CALENDAR_START_SETTING, DEFAULT_CALENDAR_START)
    try:
        return xcals.get_calendar(EXCHANGE, start=start)
    except (ValueError, xcals.errors.DateOutOfBounds) as error:
        raise ValueError(f"{CALENDAR_START_SETTING}={start!r} cannot start the {EXCHANGE} calendar: {error}") from None


def calendar_window() -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last session the calendar knows."""
    cal = calendar()
    return cal.first_session, cal.last_session


def window_text() -> str:
    """The rule a date outside the window breaks, with the setting that moves the window."""
    first, last = calendar_window()
    return (f"outside the {EXCHANGE} calendar window {first.date()}..{last.date()} "
            f"(set {CALENDAR_START_SETTING}, e.g. 1885-01-01, to start it earlier)")


def outside_window_reason(day: pd.Timestamp) -> str | None:
    """Why a date cannot be judged (outside the calendar's window), or None if it can."""
    first, last = calendar_window()
    if first <= pd.Timestamp(day) <= last:
        return None
    return f"{pd.Timestamp(day).date()} is {window_text()}"


def _as_session_index(sessions) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(sessions))
    if index.tz is not None:
        raise ValueError("sessions are calendar dates; pass tz-naive dates, not timestamps")
    return index.normalize()


def session_close(sessions) -> pd.DatetimeIndex:
    """UTC close instant of each session; raises NotASession naming the offending dates."""
    index = _as_session_index(sessions)
    closes = calendar().closes
    missing = index[~index.isin(closes.index)]
    if len(missing):
        outside = next((reason for reason in map(outside_window_reason, missing) if reason), None)
        if outside is not None:
            raise NotASession(outside)
        shown = ", ".join(str(d.date()) for d in missing[:5])
        raise NotASession(f"not {EXCHANGE} sessions: {shown}" + (" ..." if len(missing) > 5 else ""))
    # Through the tz-aware array, not .to_numpy(): that builds one Timestamp object per row
    # (7 s of the raw gate's 12 on a million bars).
    return pd.DatetimeIndex(closes.reindex(index).array, name=None).tz_convert("UTC").as_unit("ns")


def is_session(sessions) -> pd.Series:
    index = _as_session_index(sessions)
    return pd.Series(index.isin(calendar().closes.index), index=index)


def sessions_between(start: date | str, end: date | str) -> pd.DatetimeIndex:
    """All XNYS sessions from start to end inclusive, as tz-naive dates."""
    return calendar().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))


def _utc(instant: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise ValueError(f"timestamp {instant!r} has no timezone; every timestamp here is UTC-aware")
    return stamp.tz_convert("UTC")


def latest_completed_session(as_of: datetime | pd.Timestamp) -> pd.Timestamp:
    """The most recent session whose close is at or before `as_of` (its bar is knowable)."""
    stamp = _utc(as_of)
    closes = calendar().closes
    done = closes[closes <= stamp]
    if done.empty:
        raise ValueError(f"no {EXCHANGE} session closed before {stamp}")
    return done.index[-1]


def is_visible(event_timestamp: datetime | pd.Timestamp, as_of: datetime | pd.Timestamp) -> bool:
    """A bar stamped at its session close is visible only from that instant on."""
    return _utc(event_timestamp) <= _utc(as_of)
