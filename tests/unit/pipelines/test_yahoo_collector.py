"""The yfinance collector against frames shaped like yf.download's, every ugly case included."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from tenacity import wait_random_exponential
from yfinance.exceptions import YFRateLimitError

from stockfeatures.prices.yahoo import YahooSource
from stockfeatures.trading_calendar import session_close, sessions_between
from tests.unit.pipelines.yahoo_fakes import FakeDownload, download_frame, history, rate_limited

SESSIONS = sessions_between("2025-06-16", "2025-07-01")
AFTER_LAST_CLOSE = session_close([SESSIONS[-1]])[0] + pd.Timedelta(minutes=30)


def source(download, clock=AFTER_LAST_CLOSE, sleeps=None, **options) -> YahooSource:
    sleeps = [] if sleeps is None else sleeps
    return YahooSource(download, clock=lambda: clock, sleep=sleeps.append, **options)


def fetch(collector, tickers, start=SESSIONS[0], end=SESSIONS[-1]):
    return collector.fetch(tickers, start.date(), end.date())


def test_download_asks_for_raw_prices_and_actions_through_today():
    fake = FakeDownload(download_frame({"AAPL": history(SESSIONS)}))
    fetch(source(fake), ["AAPL"], end=SESSIONS[3])
    call = fake.calls[0]
    assert call["auto_adjust"] is False and call["actions"] is True
    assert call["end"] == "2025-07-02"  # exclusive end: today's date + 1, not the requested end


def test_bars_are_one_row_per_ticker_and_session_stamped_at_the_close():
    frame = download_frame({"AAPL": history(SESSIONS, seed=1), "MSFT": history(SESSIONS, seed=2)})
    batch = fetch(source(FakeDownload(frame)), ["AAPL", "MSFT"])
    assert len(batch.bars) == 2 * len(SESSIONS)
    aapl = batch.bars[batch.bars["ticker"] == "AAPL"]
    assert list(aapl["session"]) == list(SESSIONS)
    assert (aapl["event_timestamp"].to_numpy() == session_close(SESSIONS).to_numpy()).all()
    assert aapl["close"].tolist() == pytest.approx(frame[("Close", "AAPL")].tolist())
    assert not batch.failures


def test_ticker_with_all_nan_columns_fails_by_name_and_the_others_go_on():
    frame = download_frame({"AAPL": history(SESSIONS), "ZZZZ": None})
    assert frame[[c for c in frame.columns if c[1] == "ZZZZ"]].isna().all().all()
    batch = fetch(source(FakeDownload(frame)), ["AAPL", "ZZZZ"])
    assert set(batch.failures) == {"ZZZZ"}
    assert "ZZZZ" in batch.failures["ZZZZ"] and "NaN" in batch.failures["ZZZZ"]
    assert set(batch.bars["ticker"]) == {"AAPL"}


def test_failed_ticker_carries_the_error_yfinance_only_logged():
    def answer(symbols):
        logging.getLogger("yfinance").error("['ZZZZ']: YFTzMissingError('possibly delisted; no timezone found')")
        return download_frame({"AAPL": history(SESSIONS), "ZZZZ": None})

    batch = fetch(source(FakeDownload(answer)), ["AAPL", "ZZZZ"])
    assert "possibly delisted" in batch.failures["ZZZZ"]


def test_rate_limit_is_retried_with_jittered_backoff_until_success():
    good = download_frame({"AAPL": history(SESSIONS), "MSFT": history(SESSIONS, seed=3)})
    nan_frame = download_frame({"AAPL": None, "MSFT": None})
    fake = FakeDownload(YFRateLimitError(), rate_limited(["AAPL", "MSFT"], nan_frame), good)
    sleeps: list[float] = []
    collector = source(fake, sleeps=sleeps, wait=wait_random_exponential(multiplier=2, max=60))
    batch = fetch(collector, ["AAPL", "MSFT"])
    assert len(fake.calls) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 60 for s in sleeps)
    assert not batch.failures and len(batch.bars) == 2 * len(SESSIONS)


def test_backoff_waits_are_random_and_grow():
    waits = wait_random_exponential(multiplier=2, max=60)
    YahooSource(FakeDownload(None), wait=waits)  # the default policy is this one

    class Attempt:
        def __init__(self, number):
            self.attempt_number = number

    draws = [[waits(Attempt(n)) for _ in range(200)] for n in (1, 4)]
    assert len(set(draws[0])) > 100  # jitter: not a fixed delay
    assert max(draws[0]) <= 4 and np.mean(draws[1]) > np.mean(draws[0])


def test_rate_limit_that_never_lifts_fails_the_batch_after_bounded_tries():
    nan_frame = download_frame({"AAPL": None})
    fake = FakeDownload(rate_limited(["AAPL"], nan_frame))
    sleeps: list[float] = []
    batch = fetch(source(fake, sleeps=sleeps, max_tries=3), ["AAPL"])
    assert len(fake.calls) == 3 and len(sleeps) == 2
    assert "gave up after 3 tries" in batch.failures["AAPL"]
    assert batch.bars.empty


def test_batches_are_throttled_and_a_failed_batch_does_not_stop_the_next():
    good = download_frame({"MSFT": history(SESSIONS)})
    fake = FakeDownload(OSError("connection reset"), OSError("connection reset"), good)
    sleeps: list[float] = []
    batch = fetch(source(fake, sleeps=sleeps, batch_size=1, max_tries=2, throttle_seconds=1.5),
                  ["AAPL", "MSFT"])
    assert [c["symbols"] for c in fake.calls] == [["AAPL"], ["AAPL"], ["MSFT"]]
    assert 1.5 in sleeps
    assert "connection reset" in batch.failures["AAPL"] and set(batch.bars["ticker"]) == {"MSFT"}


def test_todays_bar_is_dropped_before_the_close_and_kept_after_it():
    today = SESSIONS[-1]
    frame = download_frame({"AAPL": history(SESSIONS)})
    close = session_close([today])[0]
    during = fetch(source(FakeDownload(frame), clock=close - pd.Timedelta(hours=1)), ["AAPL"])
    assert today not in set(during.bars["session"])
    assert list(during.unclosed["session"]) == [today]
    after = fetch(source(FakeDownload(frame), clock=close + pd.Timedelta(minutes=1)), ["AAPL"])
    assert today in set(after.bars["session"]) and after.unclosed.empty


def test_sessions_the_calendar_has_but_the_data_lacks_are_flagged():
    gap = SESSIONS[5]
    listed_late = SESSIONS[8:]
    frame = download_frame({"MSFT": history(SESSIONS.delete(5)), "RIVN": history(listed_late)})
    batch = fetch(source(FakeDownload(frame)), ["MSFT", "RIVN"])
    assert batch.missing.to_dict("records") == [{"ticker": "MSFT", "session": gap}]


def test_splits_are_undone_so_stored_raw_bars_do_not_depend_on_the_fetch_date():
    split_day = SESSIONS[6]
    after_split = history(SESSIONS, start_price=50.0)
    before = after_split.index < split_day
    yahoo_view = after_split.copy()  # what Yahoo shows after the split: history divided by 4
    yahoo_view.loc[before, ["Open", "High", "Low", "Close", "Adj Close"]] /= 4
    yahoo_view.loc[before, "Volume"] *= 4
    yahoo_view.loc[split_day, "Stock Splits"] = 4.0
    yahoo_view.loc[SESSIONS[2], "Dividends"] = 0.25  # Yahoo reports it split-adjusted too
    batch = fetch(source(FakeDownload(download_frame({"NVDA": yahoo_view}))), ["NVDA"])
    raw = batch.bars.set_index("session")
    assert raw.loc[SESSIONS[0], "close"] == pytest.approx(after_split.loc[SESSIONS[0], "Close"])
    assert raw.loc[SESSIONS[0], "volume"] == pytest.approx(after_split.loc[SESSIONS[0], "Volume"])
    assert raw.loc[split_day, "close"] == pytest.approx(after_split.loc[split_day, "Close"])
    actions = batch.actions.set_index("kind")
    assert actions.loc["split", "value"] == 4.0
    assert actions.loc["dividend", "value"] == pytest.approx(1.0)


def test_share_classes_are_requested_in_yahoo_spelling_and_stored_in_ours():
    fake = FakeDownload(download_frame({"BRK-B": history(SESSIONS)}))
    batch = fetch(source(fake), ["brk.b"])
    assert fake.calls[0]["symbols"] == ["BRK-B"]
    assert set(batch.bars["ticker"]) == {"BRK.B"}


def test_new_york_midnights_are_sessions_but_another_timezone_is_left_for_the_gate():
    ny = history(SESSIONS)
    ny.index = ny.index.tz_localize("America/New_York")
    batch = fetch(source(FakeDownload(download_frame({"AAPL": ny}))), ["AAPL"])
    assert list(batch.bars["session"]) == list(SESSIONS)

    tokyo = history(SESSIONS)
    tokyo.index = tokyo.index.tz_localize("Asia/Tokyo")
    batch = fetch(source(FakeDownload(download_frame({"AAPL": tokyo}))), ["AAPL"])
    assert (batch.bars["session"] != batch.bars["session"].dt.normalize()).all()
    assert batch.bars["event_timestamp"].isna().all()


def test_identical_repeated_rows_collapse_but_conflicting_ones_reach_the_gate():
    base = history(SESSIONS)
    repeated = pd.concat([base, base.iloc[[3]]]).sort_index()
    batch = fetch(source(FakeDownload(download_frame({"AAPL": repeated}))), ["AAPL"])
    assert len(batch.bars) == len(SESSIONS)
    conflicting = repeated.copy()
    conflicting.iloc[4, conflicting.columns.get_loc("Close")] += 1.0
    batch = fetch(source(FakeDownload(download_frame({"AAPL": conflicting}))), ["AAPL"])
    assert batch.bars.duplicated(["ticker", "session"], keep=False).sum() == 2
