"""Freshness follows the XNYS calendar, not wall-clock age."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from stockfeatures.serving.freshness import FreshnessClock


def _close(text: str) -> float:
    return pd.Timestamp(text, tz="UTC").timestamp()


FRIDAY = _close("2025-06-27 20:00")
MONDAY = _close("2025-06-30 20:00")


def test_friday_value_is_fresh_all_weekend_and_until_monday_close():
    clock = FreshnessClock()
    for now in (datetime(2025, 6, 28, 12, tzinfo=UTC), datetime(2025, 6, 30, 19, 59, 59, tzinfo=UTC)):
        assert clock.is_fresh(FRIDAY, now)


def test_friday_value_turns_stale_at_monday_close():
    assert not FreshnessClock().is_fresh(FRIDAY, datetime(2025, 6, 30, 20, 0, tzinfo=UTC))
    assert FreshnessClock().is_fresh(MONDAY, datetime(2025, 6, 30, 20, 0, tzinfo=UTC))


def test_early_close_before_independence_day_stays_fresh_through_the_holiday():
    early_close = _close("2025-07-03 17:00")  # 13:00 New York
    clock = FreshnessClock()
    assert clock.is_fresh(early_close, datetime(2025, 7, 4, 23, tzinfo=UTC))
    assert clock.is_fresh(early_close, datetime(2025, 7, 7, 19, 59, tzinfo=UTC))
    assert not clock.is_fresh(early_close, datetime(2025, 7, 7, 20, 0, tzinfo=UTC))


def test_value_before_todays_close_is_not_yet_expected():
    wednesday_noon = datetime(2025, 7, 2, 16, 0, tzinfo=UTC)
    assert FreshnessClock().is_fresh(_close("2025-07-01 20:00"), wednesday_noon)


def test_missing_timestamp_is_never_fresh():
    assert not FreshnessClock().is_fresh(None, datetime(2025, 7, 2, tzinfo=UTC))


def test_cached_window_moves_with_an_injected_clock():
    now = [datetime(2025, 6, 30, 19, 0, tzinfo=UTC)]
    clock = FreshnessClock(lambda: now[0])
    assert clock.window().expected_close_s == FRIDAY
    now[0] = datetime(2025, 6, 30, 20, 30, tzinfo=UTC)
    assert clock.window().expected_close_s == MONDAY
