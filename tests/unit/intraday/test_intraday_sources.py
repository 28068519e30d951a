"""Intraday sources by name: sample, CSV and yfinance (fed frames shaped like its 5m output)."""

import logging

import numpy as np
import pandas as pd
import pytest
from tenacity import wait_none

from stockfeatures.intraday.sample import SampleIntradayEvents
from stockfeatures.intraday.source import (
    IntradayBatch,
    IntradaySource,
    get_intraday_source,
    intraday_source_names,
)
from stockfeatures.intraday.yahoo import YahooIntradayHistoryLimit
from stockfeatures.prices.csv_source import InvalidCsv
from stockfeatures.prices.sample import SampleSource
from stockfeatures.prices.source import UnknownSource
from stockfeatures.prices.tickers import UnknownTicker
from tests.unit.pipelines.yahoo_fakes import (
    FIELDS,
    RATE_LIMIT_MESSAGE,
    FakeDownload,
    download_frame,
)

NY = "America/New_York"


def _accounted(batch: IntradayBatch, rows: int) -> None:
    assert len(batch.bars) + len(batch.rejected) + batch.outside_window + batch.not_requested + batch.not_ended == rows


def test_sources_are_found_by_name():
    assert {"sample", "csv", "yfinance"} <= set(intraday_source_names())
    assert isinstance(get_intraday_source("sample"), IntradaySource)
    with pytest.raises(UnknownSource, match="known: csv, sample, yfinance"):
        get_intraday_source("bloomberg")
    with pytest.raises(TypeError, match="cannot take options"):
        get_intraday_source("sample", path="x.csv")


# --- sample -------------------------------------------------------------------------------

def test_sample_is_deterministic_and_independent_of_range_and_clock():
    source = get_intraday_source("sample", tickers=["AAPL", "MSFT"])
    late = pd.Timestamp("2024-12-01", tz="UTC")
    wide = source.fetch(None, "2024-11-25", "2024-11-29", as_of=late).bars
    one = source.fetch(["MSFT"], "2024-11-27", "2024-11-27", as_of=late).bars
    again = get_intraday_source("sample", tickers=["MSFT"]).fetch(None, "2024-11-27", "2024-11-27", as_of=late).bars
    pd.testing.assert_frame_equal(one, again)
    msft = wide[(wide["ticker"] == "MSFT") & (wide["session"] == pd.Timestamp("2024-11-27"))].reset_index(drop=True)
    pd.testing.assert_frame_equal(msft, one)
    sizes = wide.groupby("session").size() / 2
    assert sizes.loc[pd.Timestamp("2024-11-27")] == 78 and sizes.loc[pd.Timestamp("2024-11-29")] == 42


def test_sample_returns_only_bars_ended_at_as_of_and_opens_at_the_daily_open():
    source = get_intraday_source("sample", tickers=["KO"])
    mid = source.fetch(None, "2024-11-27", "2024-11-27", as_of=pd.Timestamp("2024-11-27 10:07", tz=NY)).bars
    assert len(mid) == 7 and mid["event_timestamp"].max() == pd.Timestamp("2024-11-27 10:05", tz=NY)
    day = source.fetch(None, "2024-11-27", "2024-11-27", as_of=pd.Timestamp("2024-11-28", tz=NY)).bars
    pd.testing.assert_frame_equal(day.iloc[:7], mid)
    daily = SampleSource(["KO"]).fetch(["KO"], "2024-11-27", "2024-11-27").bars
    assert day["open"].iloc[0] == pytest.approx(daily["open"].iloc[0], abs=1e-4)
    # Not pinned to the daily close (a bridge would plant mean reversion), but of its scale.
    assert day["close"].iloc[-1] == pytest.approx(daily["close"].iloc[0], rel=0.1)
    assert day["volume"].sum() == pytest.approx(daily["volume"].iloc[0], rel=0.2)


def test_sample_events_halt_a_ticker_and_drop_bars():
    events = SampleIntradayEvents(missing_rate=0.1, halted_ticker="AAPL", halted_session="2024-11-27")
    source = get_intraday_source("sample", tickers=["AAPL", "MSFT"], events=events)
    bars = source.fetch(None, "2024-11-27", "2024-11-27", as_of=pd.Timestamp("2024-11-28", tz=NY)).bars
    local = bars["event_timestamp"].dt.tz_convert(NY)
    halted = (bars["ticker"] == "AAPL") & (local > pd.Timestamp("2024-11-27 11:00", tz=NY)) & \
        (local <= pd.Timestamp("2024-11-27 12:00", tz=NY))
    assert not halted.any()
    assert 100 < len(bars) < 156 - 12


def test_sample_refuses_unknown_tickers():
    with pytest.raises(UnknownTicker):
        get_intraday_source("sample", tickers=["AAPL"]).fetch(["MSFT"], as_of=pd.Timestamp("2024-11-28", tz=NY))


# --- CSV ----------------------------------------------------------------------------------

CSV = """ticker,bar_start,open,high,low,close,volume
AAPL,2024-11-29T09:30:00-05:00,100,101,99,100.5,1000
AAPL,2024-11-29T09:35:00-05:00,100.5,101,99,100.2,900
aapl,2024-11-29T14:40:00Z,100.2,101,99,100.1,800
AAPL,2024-11-29T09:37:00-05:00,100.5,101,99,100.2,900
AAPL,2024-11-29T13:00:00-05:00,100.5,101,99,100.2,900
MSFT,2024-11-29T09:30:00-05:00,100,99,99,100.5,1000
MSFT,2024-11-28T09:30:00-05:00,100,101,99,100.5,1000
MSFT,2024-11-27T09:30:00-05:00,100,101,99,100.5,1000
MSFT,bogus,100,101,99,100.5,1000
KO,2024-11-29T09:30:00-05:00,60,61,59,60.5
"""


def test_csv_accounts_for_every_row_with_its_line(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(CSV)
    batch = get_intraday_source("csv", path=path).fetch(
        None, "2024-11-28", "2024-11-29", as_of=pd.Timestamp("2024-11-29 09:41", tz=NY))
    _accounted(batch, 10)
    assert batch.bars["event_timestamp"].tolist() == [pd.Timestamp("2024-11-29 09:35", tz=NY),
                                                      pd.Timestamp("2024-11-29 09:40", tz=NY)]
    assert batch.not_ended == 1 and batch.outside_window == 1
    reasons = dict(zip(batch.rejected["line"], batch.rejected["reason"], strict=True))
    assert "line 5: bar start 2024-11-29 09:37:00-0500 is not the start of a 5-minute slot" in reasons[5]
    assert "not the start" in reasons[6] and "high below" in reasons[7]
    assert "weekend or holiday" in reasons[8] and "ISO 8601" in reasons[10]
    assert "6 fields, the header has 7" in reasons[11]


def test_csv_refuses_naive_timestamps_naming_the_line(tmp_path):
    path = tmp_path / "naive.csv"
    path.write_text("ticker,bar_start,open,high,low,close,volume\n"
                    "AAPL,2024-11-29T09:30:00-05:00,1,1,1,1,1\nAAPL,2024-11-29 09:35:00,1,1,1,1,1\n")
    with pytest.raises(InvalidCsv, match="line 3: bar_start '2024-11-29 09:35:00' has no timezone"):
        get_intraday_source("csv", path=path).fetch(None, as_of=pd.Timestamp("2024-12-01", tz=NY))


def test_csv_with_known_at_refuses_bars_not_ended_by_then(tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text("ticker,bar_start,open,high,low,close,volume\n"
                    "AAPL,2024-11-29T09:30:00-05:00,1,1,1,1,1\nAAPL,2024-11-29T09:40:00-05:00,1,1,1,1,1\n")
    known = pd.Timestamp("2024-11-29 09:42", tz=NY)
    batch = get_intraday_source("csv", path=path, known_at=known).fetch(None, as_of=pd.Timestamp("2024-12-01", tz=NY))
    assert (batch.bars["created_timestamp"] == known).all() and len(batch.bars) == 1
    assert "not yet ended" in batch.rejected["reason"].iloc[0]


# --- yfinance -------------------------------------------------------------------------------

def yahoo_5m(day: str, slots: int, seed: int = 0, split: float = 0.0) -> pd.DataFrame:
    """One ticker's yfinance 5m history: tz-aware New York index of bar STARTS, named Datetime."""
    index = pd.date_range(pd.Timestamp(f"{day} 09:30", tz=NY), periods=slots, freq="5min", name="Datetime")
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, slots)))
    open_ = np.r_[100.0, close[:-1]]
    frame = pd.DataFrame({"Adj Close": close, "Close": close, "Dividends": 0.0, "High": np.maximum(open_, close) * 1.001,
                          "Low": np.minimum(open_, close) * 0.999, "Open": open_, "Stock Splits": 0.0,
                          "Volume": 1000.0}, index=index)[FIELDS]
    frame.iloc[0, frame.columns.get_loc("Stock Splits")] = split
    return frame


def _yahoo(download, now: str):
    return get_intraday_source("yfinance", download=download, wait=wait_none(), sleep=lambda s: None,
                               clock=lambda: pd.Timestamp(now, tz=NY))


def test_yfinance_drops_the_forming_bar_and_reports_failed_tickers():
    frame = download_frame({"AAPL": pd.concat([yahoo_5m("2026-11-27", 42), yahoo_5m("2026-11-30", 20, 1)]),
                            "BRK-B": yahoo_5m("2026-11-30", 19, 2).drop(pd.Timestamp("2026-11-30 10:00", tz=NY)),
                            "ZZZZ": None})
    fake = FakeDownload(frame)
    batch = _yahoo(fake, "2026-11-30 11:08").fetch(["AAPL", "BRK.B", "ZZZZ"], "2026-11-27", "2026-11-30")
    assert fake.calls[0]["interval"] == "5m" and fake.calls[0]["ignore_tz"] is False
    assert fake.calls[0]["symbols"] == ["AAPL", "BRK-B", "ZZZZ"] and fake.calls[0]["prepost"] is False
    assert batch.not_ended == 1  # AAPL's 11:05 bar ends 11:10, after the clock
    counts = batch.bars.groupby(["ticker", "session"]).size().to_dict()
    assert counts == {("AAPL", pd.Timestamp("2026-11-27")): 42, ("AAPL", pd.Timestamp("2026-11-30")): 19,
                      ("BRK.B", pd.Timestamp("2026-11-30")): 18}
    assert batch.bars["event_timestamp"].max() == pd.Timestamp("2026-11-30 11:05", tz=NY)
    assert set(batch.failures) == {"ZZZZ"}
    # BRK.B's 10:00-10:05 bar had ended and Yahoo did not return it: reported missing.
    assert batch.missing.values.tolist() == [["BRK.B", pd.Timestamp("2026-11-30 10:05", tz=NY)]]


def test_yfinance_undoes_a_split_inside_the_history():
    before, after = yahoo_5m("2026-11-25", 78, 3), yahoo_5m("2026-11-27", 42, 4, split=2.0)
    frame = download_frame({"NVDA": pd.concat([before, after])})
    batch = _yahoo(FakeDownload(frame), "2026-11-30 09:00").fetch(["NVDA"], "2026-11-25", "2026-11-27")
    old = batch.bars[batch.bars["session"] == pd.Timestamp("2026-11-25")]
    assert old["close"].iloc[0] == pytest.approx(before["Close"].iloc[0] * 2.0)
    assert old["volume"].iloc[0] == pytest.approx(500.0)


def test_yfinance_retries_rate_limits_then_succeeds():
    frame = download_frame({"AAPL": yahoo_5m("2026-11-30", 10)})

    def limited(symbols):
        logging.getLogger("yfinance").error(f"{symbols}: {RATE_LIMIT_MESSAGE}")
        return download_frame({"AAPL": None})

    fake = FakeDownload(limited, frame)
    batch = _yahoo(fake, "2026-11-30 16:30").fetch(["AAPL"], "2026-11-30", "2026-11-30")
    assert len(fake.calls) == 2 and len(batch.bars) == 10 and not batch.failures


def test_yfinance_refuses_a_start_older_than_yahoos_60_days():
    with pytest.raises(YahooIntradayHistoryLimit, match="about 60 days"):
        _yahoo(FakeDownload(None), "2026-11-30 12:00").fetch(["AAPL"], "2026-09-01", "2026-11-30")
