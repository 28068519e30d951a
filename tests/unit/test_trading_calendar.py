"""A daily bar is stamped at its XNYS session close, taken from the exchange calendar."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.trading_calendar import (
    NotASession,
    is_session,
    is_visible,
    latest_completed_session,
    session_close,
)


def test_regular_session_closes_at_four_pm_new_york():
    close = session_close(["2024-07-02"])[0]
    assert close == pd.Timestamp("2024-07-02 16:00", tz="America/New_York")
    assert str(close.tz) == "UTC"


def test_early_close_after_thanksgiving_is_one_pm():
    assert session_close(["2024-11-29"])[0] == pd.Timestamp("2024-11-29 13:00", tz="America/New_York")


def test_winter_close_is_twenty_one_utc_and_summer_twenty_utc():
    winter, summer = session_close(["2025-01-02", "2025-07-01"])
    assert (winter.hour, summer.hour) == (21, 20)


@pytest.mark.parametrize("day", ["2024-07-04", "2024-12-25", "2024-07-06"])
def test_holidays_and_weekends_are_not_sessions(day):
    with pytest.raises(NotASession, match=day):
        session_close([day])


def test_timestamps_are_refused_where_session_dates_are_expected():
    with pytest.raises(ValueError, match="tz-naive"):
        session_close(pd.DatetimeIndex(["2024-07-02"], tz="UTC"))


def test_friday_is_latest_completed_session_until_monday_close():
    monday_before_close = pd.Timestamp("2024-07-08 15:59", tz="America/New_York")
    monday_after_close = pd.Timestamp("2024-07-08 16:00", tz="America/New_York")
    assert latest_completed_session(monday_before_close) == pd.Timestamp("2024-07-05")
    assert latest_completed_session(monday_after_close) == pd.Timestamp("2024-07-08")


def test_bar_is_visible_from_its_close_on():
    close = session_close(["2024-07-02"])[0]
    assert not is_visible(close, close - pd.Timedelta(microseconds=1))
    assert is_visible(close, close)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="no timezone"):
        latest_completed_session(pd.Timestamp("2024-07-08 16:00"))


def test_sessions_back_to_1970_are_sessions():
    assert is_session(["1970-01-02", "1986-03-13"]).all()


def test_a_date_outside_the_calendar_window_names_the_window_and_the_setting():
    from stockfeatures.trading_calendar import outside_window_reason

    reason = outside_window_reason(pd.Timestamp("1962-07-02"))
    assert "1970-01-02" in reason and "STOCKFEATURES_CALENDAR_START" in reason
    assert outside_window_reason(pd.Timestamp("2024-01-02")) is None
