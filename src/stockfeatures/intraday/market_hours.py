"""When a 5-minute bar can exist and when it is known, by the XNYS calendar.

A bar covers [end - 5 min, end) of one regular session and is stamped (and known) at its
end, so the valid event_timestamps of a session are open + 5 min, open + 10 min, ..., close
(16:00 New York, 13:00 on an early close). Opens and closes come from exchange_calendars via
stockfeatures.trading_calendar, never from a hand-written list of hours or holidays.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday.spec import BAR_LENGTH

_BAR = pd.Timedelta(BAR_LENGTH)


def _utc(instant: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise ValueError(f"timestamp {instant!r} has no timezone; every timestamp here is UTC-aware")
    return stamp.tz_convert("UTC")


def session_bounds(sessions) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(opens, closes) in UTC of XNYS sessions given as tz-naive dates; NaT for non-sessions."""
    index = pd.DatetimeIndex(pd.to_datetime(sessions)).normalize()
    cal = trading_calendar.calendar()
    opens = pd.DatetimeIndex(cal.opens.reindex(index).to_numpy(), tz="UTC")
    closes = pd.DatetimeIndex(cal.closes.reindex(index).to_numpy(), tz="UTC")
    return opens, closes


def is_bar_end(sessions, event_timestamps: pd.Series) -> np.ndarray:
    """Whether each event_timestamp is the end of a 5-minute bar of its session."""
    opens, closes = session_bounds(sessions)
    stamps = pd.DatetimeIndex(pd.to_datetime(event_timestamps, utc=True))
    since_open = stamps - opens
    inside = (stamps > opens) & (stamps <= closes)
    aligned = (since_open % _BAR) == pd.Timedelta(0)
    return np.asarray(inside & aligned, dtype=bool)


def _sessions_around(now: pd.Timestamp) -> pd.Series:
    cal = trading_calendar.calendar()
    day = now.tz_convert("America/New_York").normalize().tz_localize(None)
    return cal.closes.loc[day - pd.Timedelta(days=10): day + pd.Timedelta(days=1)]


def open_session(as_of: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The session whose regular hours contain `as_of` (open < as_of <= close), else None.

    The close itself belongs to the session: the 15:55-16:00 bar ends, and is pushed, then.
    """
    now = _utc(as_of)
    closes = _sessions_around(now)
    opens = trading_calendar.calendar().opens.reindex(closes.index)
    during = closes[(opens < now) & (closes >= now)]
    return None if during.empty else during.index[-1]


def cycle_session(as_of: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The session a push cycle started at `as_of` works for, or None (no run then).

    From the first bar's end (open + 5 min) until just before close + 5 min: the run the
    cron starts at the close (16:00, or 13:00 on an early close) begins a few seconds after
    it and still pushes the session's last bar; the 16:05 (13:05) run and later do nothing.
    """
    now = _utc(as_of)
    closes = _sessions_around(now)
    opens = trading_calendar.calendar().opens.reindex(closes.index)
    due = closes[(opens + _BAR <= now) & (now < closes + _BAR)]
    return None if due.empty else due.index[-1]


def last_bar_end(as_of: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The end of the latest bar that has ended at `as_of` (this or an earlier session)."""
    now = _utc(as_of)
    ends = bar_ends(now - pd.Timedelta(days=10), now)
    return None if ends.empty else ends[-1]


def bar_ends(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> pd.DatetimeIndex:
    """Every bar end t with start < t <= end, across sessions, in order."""
    lower, upper = _utc(start), _utc(end)
    cal = trading_calendar.calendar()
    days = cal.closes.loc[lower.tz_convert("America/New_York").normalize().tz_localize(None):
                          upper.tz_convert("America/New_York").normalize().tz_localize(None)]
    ends = [pd.date_range(cal.opens[day] + _BAR, close, freq=_BAR) for day, close in days.items()]
    if not ends:
        return pd.DatetimeIndex([], tz="UTC")
    stamps = ends[0].append(ends[1:]) if len(ends) > 1 else ends[0]
    return stamps[(stamps > lower) & (stamps <= upper)]
