"""Decisions every ingest shares: the re-fetch window, knowledge time, run reports."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.reports import RunSummary, ticker_rows, validation_markdown
from stockfeatures.stages.ingest_plan import refetch_window
from stockfeatures.stages.knowledge_time import drop_unclosed, stamp_knowledge_time
from stockfeatures.validation import gate_raw_bars
from tests.unit.pipelines.bars import good_bars


def test_refetch_window_covers_the_trailing_completed_sessions():
    as_of = pd.Timestamp("2025-07-07 21:00", tz="UTC")  # Monday after the close
    first, last = refetch_window(as_of, sessions=3)
    assert first == date(2025, 7, 2)  # Jul 3 and Jul 7 are the other two (Jul 4 closed)
    assert last == date(2025, 7, 7)


def test_refetch_window_before_the_close_ends_with_the_previous_session():
    as_of = pd.Timestamp("2025-07-07 15:00", tz="UTC")
    first, _ = refetch_window(as_of, sessions=1)
    assert first == date(2025, 7, 3)


def test_a_first_load_keeps_the_session_close_and_a_stored_bar_is_known_at_fetch_time():
    bars = good_bars(["MSFT"])
    as_of = bars["event_timestamp"].iloc[-1] + pd.Timedelta(minutes=30)
    stored = bars.iloc[:4]
    stamped = stamp_knowledge_time(bars, stored, ["ticker", "session"], as_of)
    assert (stamped["created_timestamp"].iloc[:4] == as_of).all()
    pd.testing.assert_series_equal(stamped["created_timestamp"].iloc[4:], bars["event_timestamp"].iloc[4:],
                                   check_names=False)


def test_unclosed_bars_are_dropped_for_every_source():
    bars = good_bars(["MSFT"])
    as_of = bars["event_timestamp"].iloc[-1] - pd.Timedelta(hours=1)
    kept, dropped = drop_unclosed(bars, as_of)
    assert len(kept) == len(bars) - 1 and len(dropped) == 1


def test_ticker_report_names_failures_rejections_and_missing_sessions():
    bars = good_bars(["AAPL", "MSFT"])
    bars.loc[bars.index[0], "close"] = -5.0
    gate = gate_raw_bars(bars)
    missing = pd.DataFrame({"ticker": ["MSFT"], "session": [pd.Timestamp("2025-06-05")]})
    rows = {r["ticker"]: r for r in ticker_rows(["AAPL", "MSFT", "ZZZZ"], bars, {"ZZZZ": "no bars"},
                                                gate, None, missing)}
    assert rows["AAPL"]["status"].startswith("REJECTED raw: ") and "close" in rows["AAPL"]["status"]
    assert rows["AAPL"]["bars_loaded"] == 0 and rows["AAPL"]["bars_rejected"] == rows["AAPL"]["bars_fetched"]
    assert rows["MSFT"]["status"] == "ok" and rows["MSFT"]["missing_dates"] == "2025-06-05"
    assert rows["ZZZZ"]["status"] == "FAILED fetch: no bars"
    markdown = validation_markdown([gate.summary()])
    assert "raw_prices: FAILED" in markdown and "close is not a positive price" in markdown


def test_summary_headline_names_failed_tickers():
    summary = RunSummary(flow="daily_update", tickers=[{}, {}], failures={"ZZZZ": "FAILED fetch: x"})
    assert not summary.ok and "ZZZZ: FAILED fetch: x" in summary.headline()
