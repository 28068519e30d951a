"""Schedules in exchange time: weekdays at a New York wall-clock time, as a cron line.

Why cron and not an RRULE with one EXDATE per XNYS holiday (the schedule until issue 9):
Prefect's UI labels a schedule with rrule.js's `rrulestr(...).toText()`, and a rule with
EXDATE lines parses to an RRuleSet whose text is "every year"; the UI showed the weekday
16:30 schedule as yearly. A cron line is labelled by cronstrue ("At 04:30 PM, Monday through
Friday (America/New_York)"), which is what the schedule is. Holidays are the flows' job:
daily_update checks the XNYS calendar and ends Completed with "… is not an XNYS session"
(which also covers dates past the calendar's horizon and runs started by hand), and an
extra warm-up on a holiday only reloads the latest features.

The timezone travels with the schedule, so the runs follow New York's daylight saving time
(21:30 UTC in winter, 20:30 UTC in summer).
"""

from __future__ import annotations

TIMEZONE = "America/New_York"
DAILY_UPDATE_AT = (16, 30)  # after the 16:00 close (and long after a 13:00 early close)
WARM_UP_AT = (9, 0)  # before the 09:30 open
# Every 5 minutes from 09:00 to 16:55 New York on weekdays; the intraday_push flow runs a
# cycle only from the first bar's end (09:35) to the close by the XNYS calendar
# (stockfeatures.intraday.session_clock.cycle_session) and skips itself otherwise.
INTRADAY_PUSH_CRON = "*/5 9-16 * * 1-5"


def weekday_cron(at: tuple[int, int]) -> str:
    """Cron line for Monday-Friday at `at` (hour, minute), read in the schedule's timezone."""
    hour, minute = at
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"{at!r} is not a wall-clock time (hour 0-23, minute 0-59)")
    return f"{minute} {hour} * * 1-5"
