"""Universe is configuration; schedules run in New York wall-clock time on weekdays."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipelines.schedules import weekday_cron
from pipelines.serve import deployments
from stockfeatures.config import load_settings
from stockfeatures.universe import UniverseError, load_universe, parse_universe


def test_default_universe_is_about_a_hundred_liquid_tickers_plus_the_benchmark():
    tickers = load_universe(load_settings())
    assert 95 <= len(tickers) <= 130 and "SPY" in tickers
    assert len(set(tickers)) == len(tickers)


def test_universe_file_is_swappable_and_always_includes_the_benchmark(tmp_path, monkeypatch):
    path = tmp_path / "mine.txt"
    path.write_text("# mine\naapl\nMSFT  # trailing comment\n\nmsft\n")
    monkeypatch.setenv("STOCKFEATURES_UNIVERSE_FILE", str(path))
    assert load_universe(load_settings()) == ["SPY", "AAPL", "MSFT"]


def test_bad_universe_line_is_named():
    with pytest.raises(UniverseError, match="line 2"):
        parse_universe("AAPL\nnot a ticker!\n", "u.txt")


def _scheduled_runs(deployment_name: str, start: str, end: str) -> list[dt.datetime]:
    """The run times Prefect's server generates for a served deployment's schedule."""
    from prefect.server.schemas.schedules import CronSchedule

    (deployment,) = [d for d in deployments() if d.name == deployment_name]
    (schedule,) = deployment.schedules
    server_schedule = CronSchedule(**schedule.schedule.model_dump())
    window = [pd.Timestamp(day, tz="America/New_York").to_pydatetime() for day in (start, end)]
    return asyncio.run(server_schedule.get_dates(start=window[0], end=window[1]))


def test_daily_update_runs_at_1630_new_york_on_weekdays_through_a_dst_change():
    runs = _scheduled_runs("daily-update", "2026-03-05", "2026-03-11")  # DST starts 8 March
    ny = [r.astimezone(ZoneInfo("America/New_York")) for r in runs]
    assert [r.date().isoformat() for r in ny] == [
        "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10"]  # no weekend
    assert {(r.hour, r.minute) for r in ny} == {(16, 30)}
    assert [r.astimezone(dt.UTC).hour for r in runs] == [21, 21, 20, 20]


def test_warm_up_runs_before_the_open():
    runs = _scheduled_runs("warm-up", "2025-11-24", "2025-11-29")
    ny = [r.astimezone(ZoneInfo("America/New_York")) for r in runs]
    assert [r.day for r in ny] == [24, 25, 26, 27, 28]
    assert {(r.hour, r.minute) for r in ny} == {(9, 0)}


def test_schedules_are_plain_cron_lines_the_prefect_ui_can_label():
    """An RRULE with EXDATE lines was labelled "every year" by the UI (issue 9)."""
    for deployment in deployments():
        for schedule in deployment.schedules:
            assert schedule.schedule.cron.endswith("* * 1-5")
            assert schedule.schedule.timezone == "America/New_York"


def test_a_wall_clock_time_out_of_range_is_named():
    with pytest.raises(ValueError, match="24, 0"):
        weekday_cron((24, 0))


def test_intraday_push_runs_every_5_minutes_and_the_calendar_picks_the_cycles():
    from stockfeatures.intraday.session_clock import cycle_session

    runs = _scheduled_runs("intraday-push", "2025-11-26", "2025-11-29")  # Thanksgiving week
    ny = [pd.Timestamp(r).tz_convert("America/New_York") for r in runs]
    assert {r.minute % 5 for r in ny} == {0} and min(r.hour for r in ny) == 9
    # A run starts a few seconds after its scheduled time.
    working = [r for r in ny if cycle_session(r + pd.Timedelta(seconds=3)) is not None]
    by_day: dict[int, list[pd.Timestamp]] = {}
    for r in working:
        by_day.setdefault(r.day, []).append(r)
    assert sorted(by_day) == [26, 28]  # no cycle on Thanksgiving (27th)
    assert (by_day[26][0].hour, by_day[26][0].minute) == (9, 35)
    assert (by_day[26][-1].hour, by_day[26][-1].minute) == (16, 0)
    assert len(by_day[26]) == 78
    assert (by_day[28][-1].hour, by_day[28][-1].minute) == (13, 0)  # early close, then nothing
    assert len(by_day[28]) == 42
