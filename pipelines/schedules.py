"""Schedules in exchange time: weekdays at a New York wall-clock time, minus XNYS holidays.

A cron line cannot skip Thanksgiving; an RRULE with one EXDATE per holiday (taken from the
XNYS calendar, up to its last known session) can, so no run is even created on a holiday.
The flows also check the calendar themselves, which covers dates past the calendar's
horizon and runs started by hand.
"""

from __future__ import annotations

import pandas as pd

from stockfeatures.trading_calendar import calendar

TIMEZONE = "America/New_York"
DAILY_UPDATE_AT = (16, 30)  # after the 16:00 close (and long after a 13:00 early close)
WARM_UP_AT = (9, 0)  # before the 09:30 open


def holidays(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Weekdays in [start, end] that are not XNYS sessions."""
    last = min(pd.Timestamp(end), calendar().sessions[-1])
    weekdays = pd.bdate_range(pd.Timestamp(start), last)
    sessions = calendar().sessions_in_range(weekdays[0], weekdays[-1]) if len(weekdays) else []
    return [day for day in weekdays if day not in set(sessions)]


def trading_day_rrule(at: tuple[int, int], start: pd.Timestamp | None = None,
                      end: pd.Timestamp | None = None) -> str:
    """RRULE string: Monday-Friday at `at` (New York time), excluding XNYS holidays."""
    hour, minute = at
    first = pd.Timestamp(start or pd.Timestamp.now(tz=TIMEZONE).date()).normalize()
    last = pd.Timestamp(end) if end is not None else calendar().sessions[-1]
    stamp = f"T{hour:02d}{minute:02d}00"
    lines = [
        f"DTSTART;TZID={TIMEZONE}:{first:%Y%m%d}{stamp}",
        f"RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0",
    ]
    skipped = holidays(first, last)
    if skipped:
        lines.append(f"EXDATE;TZID={TIMEZONE}:" + ",".join(f"{d:%Y%m%d}{stamp}" for d in skipped))
    return "\n".join(lines)
