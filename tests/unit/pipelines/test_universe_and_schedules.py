"""Universe is configuration; schedules run in New York time on XNYS sessions only."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dateutil.rrule import rrulestr

from pipelines.schedules import DAILY_UPDATE_AT, WARM_UP_AT, trading_day_rrule
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


def _runs(rule: str, start: str, end: str) -> list[dt.datetime]:
    ny = pd.Timestamp(start, tz="America/New_York").to_pydatetime()
    return rrulestr(rule, forceset=True).between(ny, pd.Timestamp(end, tz="America/New_York").to_pydatetime())


def test_daily_update_runs_after_the_close_on_sessions_and_skips_holidays():
    rule = trading_day_rrule(DAILY_UPDATE_AT, start=pd.Timestamp("2025-06-01"), end=pd.Timestamp("2025-07-31"))
    runs = _runs(rule, "2025-06-16", "2025-07-08")
    days = [r.date().isoformat() for r in runs]
    assert "2025-06-19" not in days and "2025-07-04" not in days  # Juneteenth, Independence Day
    assert "2025-07-03" in days  # early close is still a session
    assert {(r.hour, r.minute) for r in runs} == {(16, 30)}
    assert all(r.tzinfo is not None and r.utcoffset() == dt.timedelta(hours=-4) for r in runs)


def test_warm_up_runs_before_the_open():
    rule = trading_day_rrule(WARM_UP_AT, start=pd.Timestamp("2025-11-20"), end=pd.Timestamp("2025-12-31"))
    runs = _runs(rule, "2025-11-24", "2025-11-29")
    assert [r.date().day for r in runs] == [24, 25, 26, 28]  # Thanksgiving (27th) skipped
    assert {(r.hour, r.minute) for r in runs} == {(9, 0)}
