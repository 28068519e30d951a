"""The intraday session clock: 5-minute slots of regular XNYS sessions, and when a bar has ended.

A regular session runs from the exchange_calendars open to its close (16:00 New York, 13:00
on early closes), so a full day has 78 slots and a 13:00 close 42; holidays and weekends
have none. A bar is named by its slot: it covers [bar_start, bar_start + 5 min) and is
known at its end, its event_timestamp. The rule "a bar is invisible before its end" is
`has_ended`, and everything that judges it (normalization, sources, features) calls it.
The valid event_timestamps of a session are open + 5 min, ..., close (`is_bar_end`,
`bar_ends`), and the push flow's calendar questions (is a session open, which session does a
cycle work for, which bar ended last) are answered here too. Opens and closes come from
exchange_calendars via stockfeatures.trading_calendar, never from a hand-written list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday.spec import BAR_LENGTH

NEW_YORK = "America/New_York"
_BAR_LENGTH = pd.Timedelta(BAR_LENGTH)
_BAR_NS = int(_BAR_LENGTH.value)


def _utc(stamps) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(stamps)
    if index.tz is None:
        raise ValueError("intraday instants must be timezone-aware; got tz-naive timestamps")
    return index.tz_convert("UTC").as_unit("ns")


def has_ended(event_timestamp, at) -> np.ndarray | bool:
    """Has the bar ending at `event_timestamp` ended at instant `at` (both tz-aware)?

    A bar ending 09:35:00 has ended at 09:35:00 exactly, not a nanosecond before. Two
    scalars give a bool; an array for either (element by element when both are) a
    boolean array.
    """
    if np.ndim(event_timestamp) == 0 and np.ndim(at) == 0:
        end, moment = pd.Timestamp(event_timestamp), pd.Timestamp(at)
        if end.tzinfo is None or moment.tzinfo is None:
            raise ValueError(f"bar end {event_timestamp!r} and instant {at!r} must both be tz-aware")
        return bool(end <= moment)
    ends = _utc([event_timestamp] if np.ndim(event_timestamp) == 0 else event_timestamp)
    moments = _utc([at] if np.ndim(at) == 0 else at)
    return np.asarray(ends.asi8 <= moments.asi8)


def bar_end(bar_start):
    """event_timestamp of the bar starting at `bar_start` (scalar or array, kept in UTC)."""
    if np.ndim(bar_start) == 0:
        return pd.Timestamp(bar_start).tz_convert("UTC") + BAR_LENGTH
    return _utc(bar_start) + BAR_LENGTH


def slot_count(session) -> int:
    """Number of 5-minute slots of one session (78, or 42 on a 13:00 close)."""
    opens, closes = _open_close(pd.DatetimeIndex([pd.Timestamp(session)]))
    return int((closes[0] - opens[0]) // _BAR_NS)


def session_slots(session) -> pd.DatetimeIndex:
    """Bar starts (UTC) of every slot of one session; raises NotASession for a non-session."""
    opens, closes = _open_close(pd.DatetimeIndex([pd.Timestamp(session)]))
    starts = np.arange(opens[0], closes[0], _BAR_NS, dtype="int64")
    return pd.DatetimeIndex(starts.view("datetime64[ns]")).tz_localize("UTC")


def _open_close(sessions: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Open and close of each session as UTC nanoseconds (raises NotASession)."""
    closes = trading_calendar.session_close(sessions)
    opens = trading_calendar.calendar().opens.reindex(sessions.normalize())
    return opens.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8, closes.as_unit("ns").asi8


@dataclass(frozen=True)
class SlotLookup:
    """Where each bar start falls on the clock; `problem` is None for a slot of a session.

    session: the New York date (tz-naive); slot: position in the session (0 = 09:30);
    slots: the session's slot count; tod: minutes after 09:30 New York of the bar start,
    the same-time-of-day key volume_tod_ratio compares across sessions.
    """

    session: pd.Series
    slot: np.ndarray
    slots: np.ndarray
    tod: np.ndarray
    problem: pd.Series


def locate_slots(bar_start: pd.Series) -> SlotLookup:
    """Vectorized: session, slot and time of day of each tz-aware bar start (NaT allowed)."""
    starts = pd.Series(pd.DatetimeIndex(bar_start).tz_convert("UTC").as_unit("ns"), index=bar_start.index)
    local = starts.dt.tz_convert(NEW_YORK)
    sessions = local.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    n = len(starts)
    slot = np.full(n, -1, dtype="int64")
    slots = np.zeros(n, dtype="int64")
    tod = np.full(n, -1, dtype="int64")
    problem = pd.Series(None, index=starts.index, dtype=object)
    present = starts.notna().to_numpy()
    problem[~present] = "bar start is missing"
    first, last = trading_calendar.calendar_window()
    inside = present & sessions.between(first, last).to_numpy()
    problem[present & ~inside] = trading_calendar.window_text()
    is_session = np.zeros(n, dtype=bool)
    if inside.any():
        codes, days = pd.factorize(sessions[inside])
        is_session[inside] = trading_calendar.is_session(pd.DatetimeIndex(days)).to_numpy()[codes]
    problem[inside & ~is_session] = f"not during an {trading_calendar.EXCHANGE} session (weekend or holiday)"
    if is_session.any():
        codes, days = pd.factorize(sessions[is_session])  # the calendar is asked once per session
        day_opens, day_closes = _open_close(pd.DatetimeIndex(days))
        opens, closes = day_opens[codes], day_closes[codes]
        stamp = starts[is_session].array.asi8
        offset = stamp - opens
        aligned = (offset >= 0) & (offset % _BAR_NS == 0) & (stamp + _BAR_NS <= closes)
        where = np.flatnonzero(is_session)
        slot[where[aligned]] = offset[aligned] // _BAR_NS
        slots[where] = (closes - opens) // _BAR_NS
        wall = local[is_session].dt
        minutes = (wall.hour * 60 + wall.minute).to_numpy() - (9 * 60 + 30)
        tod[where[aligned]] = minutes[aligned]
        problem.iloc[where[~aligned]] = [
            f"bar start {local.iloc[i].strftime('%Y-%m-%d %H:%M:%S%z')} is not the start of a "
            "5-minute slot of the regular session" for i in where[~aligned]
        ]
    return SlotLookup(session=sessions, slot=slot, slots=slots, tod=tod, problem=problem)


# -- bar ends and the push flow's calendar questions -------------------------------------

def _instant(instant: datetime | pd.Timestamp) -> pd.Timestamp:
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
    aligned = (since_open % _BAR_LENGTH) == pd.Timedelta(0)
    return np.asarray(inside & aligned, dtype=bool)


def _sessions_around(now: pd.Timestamp) -> pd.Series:
    cal = trading_calendar.calendar()
    day = now.tz_convert("America/New_York").normalize().tz_localize(None)
    return cal.closes.loc[day - pd.Timedelta(days=10): day + pd.Timedelta(days=1)]


def open_session(as_of: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The session whose regular hours contain `as_of` (open < as_of <= close), else None.

    The close itself belongs to the session: the 15:55-16:00 bar ends, and is pushed, then.
    """
    now = _instant(as_of)
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
    now = _instant(as_of)
    closes = _sessions_around(now)
    opens = trading_calendar.calendar().opens.reindex(closes.index)
    due = closes[(opens + _BAR_LENGTH <= now) & (now < closes + _BAR_LENGTH)]
    return None if due.empty else due.index[-1]


def last_bar_end(as_of: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The end of the latest bar that has ended at `as_of` (this or an earlier session)."""
    now = _instant(as_of)
    ends = bar_ends(now - pd.Timedelta(days=10), now)
    return None if ends.empty else ends[-1]


def bar_ends(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> pd.DatetimeIndex:
    """Every bar end t with start < t <= end, across sessions, in order."""
    lower, upper = _instant(start), _instant(end)
    cal = trading_calendar.calendar()
    days = cal.closes.loc[lower.tz_convert("America/New_York").normalize().tz_localize(None):
                          upper.tz_convert("America/New_York").normalize().tz_localize(None)]
    ends = [pd.date_range(cal.opens[day] + _BAR_LENGTH, close, freq=_BAR_LENGTH) for day, close in days.items()]
    if not ends:
        return pd.DatetimeIndex([], tz="UTC")
    stamps = ends[0].append(ends[1:]) if len(ends) > 1 else ends[0]
    return stamps[(stamps > lower) & (stamps <= upper)]
