"""The intraday session clock: 5-minute slots of regular XNYS sessions, and when a bar has ended.

A regular session runs from the exchange_calendars open to its close (16:00 New York, 13:00
on early closes), so a full day has 78 slots and a 13:00 close 42; holidays and weekends
have none. A bar is named by its slot: it covers [bar_start, bar_start + 5 min) and is
known at its end, its event_timestamp. The rule "a bar is invisible before its end" is
`has_ended`, and everything that judges it (normalization, sources, features) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday.spec import BAR_LENGTH

NEW_YORK = "America/New_York"
_BAR_NS = int(pd.Timedelta(BAR_LENGTH).value)


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
