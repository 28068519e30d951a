"""The intraday freshness rule: 5 minutes plus a grace in hours, the last bar until the next open.

Every clock here is fixed: instants are New York wall times of November 2025, around
Thanksgiving (Thursday 27th, closed) and its early close (Friday 28th, 13:00).
"""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.serving.intraday_freshness import IntradayFreshnessClock, intraday_window

GRACE_S = 60.0


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")


def bar(text: str) -> float:
    return ny(text).timestamp()


def fresh(bar_end: str, now: pd.Timestamp, grace_s: float = GRACE_S) -> bool:
    return IntradayFreshnessClock(grace_s=grace_s).is_fresh(bar(bar_end), now.to_pydatetime())


def test_mid_session_only_a_bar_that_ended_within_five_minutes_plus_grace_is_fresh():
    now = ny("2025-11-26 10:02:30")
    assert fresh("2025-11-26 10:00", now)
    assert not fresh("2025-11-26 09:55", now)  # ended 7 min 30 s ago
    assert not fresh("2025-11-25 16:00", now)  # yesterday's close


def test_at_the_five_minutes_plus_grace_edge():
    ended = "2025-11-26 10:00"
    assert fresh(ended, ny("2025-11-26 10:06:00"))
    assert not fresh(ended, ny("2025-11-26 10:06:00.001"))
    assert fresh(ended, ny("2025-11-26 10:07:59"), grace_s=180)
    assert not fresh(ended, ny("2025-11-26 10:05:00.001"), grace_s=0)


def test_the_last_bar_before_a_full_close_stays_fresh_overnight():
    close = "2025-11-26 16:00"
    for now in ("2025-11-26 16:00:30", "2025-11-26 20:00", "2025-11-27 03:00"):
        assert fresh(close, ny(now))
    # A 15:55 bar ages out as in hours (the 16:00 bar may still be on its way), then stays stale.
    assert fresh("2025-11-26 15:55", ny("2025-11-26 16:01"))
    assert not fresh("2025-11-26 15:55", ny("2025-11-26 16:01:01"))
    assert not fresh("2025-11-26 15:55", ny("2025-11-26 22:00"))


def test_thanksgiving_keeps_wednesdays_close_fresh_until_fridays_open():
    close = "2025-11-26 16:00"
    assert fresh(close, ny("2025-11-27 12:00"))  # the holiday, at what would be midday
    assert fresh(close, ny("2025-11-28 09:30"))  # the open instant itself
    assert not fresh(close, ny("2025-11-28 09:30:01"))


def test_lunchtime_on_a_half_day_after_the_one_pm_close():
    now = ny("2025-11-28 13:30")
    assert fresh("2025-11-28 13:00", now)
    assert not fresh("2025-11-28 12:55", now)
    assert not fresh("2025-11-26 16:00", now)
    window = intraday_window(now, 360.0)
    assert not window.in_hours(now.timestamp())
    assert window.close_s == bar("2025-11-28 13:00")


def test_weekend_keeps_fridays_early_close_fresh_until_monday_open():
    close = "2025-11-28 13:00"
    for now in ("2025-11-29 12:00", "2025-11-30 23:59", "2025-12-01 09:30"):
        assert fresh(close, ny(now))


def test_next_open_makes_every_earlier_session_stale_until_its_first_bar():
    friday_close = "2025-11-28 13:00"
    assert not fresh(friday_close, ny("2025-12-01 09:30:01"))
    assert not fresh(friday_close, ny("2025-12-01 09:34"))
    assert fresh("2025-12-01 09:35", ny("2025-12-01 09:36"))


def test_the_window_is_reused_within_a_session_and_rebuilt_at_the_next_open():
    clock = IntradayFreshnessClock(grace_s=GRACE_S)
    first = clock.window(ny("2025-11-26 10:00").timestamp())
    assert clock.window(ny("2025-11-27 12:00").timestamp()) is first
    assert clock.window(ny("2025-11-28 09:30").timestamp()) is first
    later = clock.window(ny("2025-11-28 09:30:01").timestamp())
    assert later is not first
    assert later.session == pd.Timestamp("2025-11-28")
    assert later.in_hours(ny("2025-11-28 12:59").timestamp())


def test_a_missing_value_is_never_fresh_and_a_negative_grace_is_refused():
    assert not IntradayFreshnessClock().is_fresh(None, ny("2025-11-26 10:00").to_pydatetime())
    with pytest.raises(ValueError, match="grace"):
        IntradayFreshnessClock(grace_s=-1)
    with pytest.raises(ValueError, match="timezone"):
        intraday_window(pd.Timestamp("2025-11-26 10:00"), 360.0)


def test_the_grace_comes_from_the_environment_and_may_be_zero(monkeypatch):
    from stockfeatures.config import ConfigError
    from stockfeatures.serving.options import serving_options_from_env

    monkeypatch.setenv("STOCKFEATURES_INTRADAY_GRACE_S", "0")
    assert serving_options_from_env().intraday_grace_s == 0.0
    monkeypatch.setenv("STOCKFEATURES_INTRADAY_GRACE_S", "-5")
    with pytest.raises(ConfigError, match="STOCKFEATURES_INTRADAY_GRACE_S"):
        serving_options_from_env()
    monkeypatch.setenv("STOCKFEATURES_SERVING_MAX_BATCH", "0")
    monkeypatch.delenv("STOCKFEATURES_INTRADAY_GRACE_S")
    with pytest.raises(ConfigError, match="must be positive"):
        serving_options_from_env()
