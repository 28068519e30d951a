"""The session clock: slots from exchange_calendars and the one 'has this bar ended' rule."""

import numpy as np
import pandas as pd
import pytest

from stockfeatures.intraday import session_clock
from stockfeatures.trading_calendar import NotASession

NY = "America/New_York"


def test_full_day_has_78_slots_from_0930_to_1555():
    slots = session_clock.session_slots("2024-11-27")
    assert len(slots) == session_clock.slot_count("2024-11-27") == 78
    assert slots[0] == pd.Timestamp("2024-11-27 09:30", tz=NY)
    assert slots[-1] == pd.Timestamp("2024-11-27 15:55", tz=NY)


def test_early_close_has_42_slots_ending_at_1300():
    slots = session_clock.session_slots("2024-11-29")
    assert len(slots) == 42
    assert session_clock.bar_end(slots[-1]) == pd.Timestamp("2024-11-29 13:00", tz=NY)


@pytest.mark.parametrize("day", ["2024-11-28", "2024-11-30", "2024-12-25"])
def test_holidays_and_weekends_have_no_slots(day):
    with pytest.raises(NotASession):
        session_clock.session_slots(day)


def test_bar_is_known_at_its_end_not_a_nanosecond_before():
    end = session_clock.bar_end(pd.Timestamp("2024-11-27 09:30", tz=NY))
    assert end == pd.Timestamp("2024-11-27 09:35", tz=NY)
    assert session_clock.has_ended(end, end)
    assert not session_clock.has_ended(end, end - pd.Timedelta(1, "ns"))
    ends = pd.Series([end, end + pd.Timedelta(minutes=5)])
    assert session_clock.has_ended(ends, end).tolist() == [True, False]


def test_has_ended_refuses_naive_instants():
    with pytest.raises(ValueError, match="tz-aware"):
        session_clock.has_ended(pd.Timestamp("2024-11-27 09:35"), pd.Timestamp.now(tz="UTC"))


def test_locate_slots_names_what_is_off_the_clock():
    starts = pd.Series(pd.to_datetime([
        "2024-11-27 09:30", "2024-11-27 15:55", "2024-11-27 09:32", "2024-11-27 16:00",
        "2024-11-29 13:00", "2024-11-28 10:00", "2024-11-27 09:25",
    ]).tz_localize(NY))
    found = session_clock.locate_slots(starts)
    assert found.slot[:2].tolist() == [0, 77]
    assert found.problem[:2].isna().all()
    assert found.problem[2:].notna().all()
    assert "not the start of a 5-minute slot" in found.problem[2]
    assert "weekend or holiday" in found.problem[5]
    assert np.array_equal(found.slots[:2], [78, 78])
