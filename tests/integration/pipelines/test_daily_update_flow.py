"""daily_update end to end on the prod profile: real PostgreSQL, Redis, Feast, Prefect (ephemeral)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg
import pytest
from yfinance.exceptions import YFRateLimitError

from pipelines.artifacts_api import list_artifacts
from pipelines.daily_update import daily_update
from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.prices.sample import SampleSource
from stockfeatures.prices.source import PriceBatch, register_source
from stockfeatures.prices.yahoo import YahooSource
from stockfeatures.retrieval import online_features
from stockfeatures.trading_calendar import session_close, sessions_between
from tests.integration.pipelines.yahoo_from_bars import yahoo_frame
from tests.integration.profile_stack import TICKERS
from tests.unit.pipelines.yahoo_fakes import FakeDownload

pytestmark = pytest.mark.integration

JULY_1, JULY_2 = pd.Timestamp("2025-07-01"), pd.Timestamp("2025-07-02")
RESTATED = pd.Timestamp("2025-06-25")
AFTER_JULY_1 = session_close([JULY_1])[0] + pd.Timedelta(minutes=30)
AFTER_JULY_2 = session_close([JULY_2])[0] + pd.Timedelta(minutes=30)


def sample_window(end: pd.Timestamp) -> pd.DataFrame:
    return SampleSource().fetch(TICKERS, "2025-06-16", end.date()).bars


def use_yahoo(name: str, download, clock: pd.Timestamp, sleeps: list) -> str:
    register_source(name, lambda: YahooSource(download, clock=lambda: clock, sleep=sleeps.append,
                                              throttle_seconds=0))
    return name


def versions(dsn: str, ticker: str, session: pd.Timestamp) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT close, created_timestamp FROM prices WHERE ticker = %s AND session = %s "
            "ORDER BY created_timestamp", (ticker, session.date())).fetchall()


def table_count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def artifact_keys(flow_run_id) -> set[str]:
    return {a["key"] for a in list_artifacts(flow_run_id) if a["key"]}


def online(stack) -> pd.DataFrame:
    return online_features(stack.store, TICKERS, features=list(FEATURE_NAMES)).set_index("ticker").sort_index()


def test_rate_limit_then_success_backs_off_and_completes(prefect_api, prod_stack):
    bars = sample_window(JULY_1)
    fake = FakeDownload(YFRateLimitError(), YFRateLimitError(), yahoo_frame(bars))
    sleeps: list[float] = []
    state = daily_update(source=use_yahoo("yahoo-rate-limited", fake, AFTER_JULY_1, sleeps),
                         tickers=TICKERS, as_of=AFTER_JULY_1, materialize=False, return_state=True)
    assert state.is_completed(), state.message
    assert len(fake.calls) == 3 and len(sleeps) == 2
    assert set(prod_stack.warehouse.read_bars(start=JULY_1, end=JULY_1)["ticker"]) == set(TICKERS)


def test_daily_update_stores_restatements_skips_identical_bars_and_is_idempotent(prefect_api, prod_stack):
    dsn = prod_stack.settings.pg_dsn
    bars = sample_window(JULY_1)
    restated = bars.copy()
    row = restated.index[(restated["ticker"] == "AAPL") & (restated["session"] == RESTATED)][0]
    original_close = restated.loc[row, "close"]
    restated.loc[row, ["close", "high"]] = [original_close * 1.01, max(restated.loc[row, "high"], original_close * 1.01)]
    source = use_yahoo("yahoo-restating", FakeDownload(yahoo_frame(restated)), AFTER_JULY_1, [])

    state = daily_update(source=source, tickers=TICKERS, as_of=AFTER_JULY_1, return_state=True)
    assert state.is_completed(), state.message

    aapl = versions(dsn, "AAPL", RESTATED)
    assert [v[0] for v in aapl] == pytest.approx([original_close, original_close * 1.01])
    assert pd.Timestamp(aapl[1][1]) == AFTER_JULY_1  # the restatement's knowledge time
    assert len(versions(dsn, "MSFT", RESTATED)) == 1  # identical re-fetched bar: not duplicated
    before = prod_stack.warehouse.read_bars(["AAPL"], RESTATED, RESTATED, as_of=AFTER_JULY_1 - pd.Timedelta(minutes=1))
    assert before["close"].iloc[0] == pytest.approx(original_close)  # history as it was known

    counts = table_count(dsn, "prices"), table_count(dsn, "features_daily")
    again = daily_update(source=source, tickers=TICKERS, as_of=AFTER_JULY_1, return_state=True)
    assert again.is_completed(), again.message
    assert (table_count(dsn, "prices"), table_count(dsn, "features_daily")) == counts

    served = online(prod_stack)
    latest = prod_stack.warehouse.latest_features(TICKERS).set_index("ticker").sort_index()
    assert (latest["event_timestamp"] == session_close([JULY_1])[0]).all()
    pd.testing.assert_series_equal(served["ret_1d"], latest["ret_1d"], check_names=False)

    keys = artifact_keys(state.state_details.flow_run_id)
    assert {"daily-update-tickers", "daily-update-validation", "daily-update-materialized"} <= keys


class BadBatchSource:
    """A source that returns a batch with one classic fault per ticker."""

    name = "bad-batch"

    def fetch(self, tickers, start, end) -> PriceBatch:
        bars = SampleSource().fetch(TICKERS, start, end).bars
        day = bars["session"] == JULY_2
        aapl, msft, nvda, spy = (bars.index[day & (bars["ticker"] == t)][0] for t in TICKERS)
        bars.loc[aapl, "low"] = -3.0
        bars.loc[nvda, "close"] = float("nan")
        naive_local = bars.loc[spy, "event_timestamp"].tz_convert("America/New_York").tz_localize(None)
        bars.loc[spy, "event_timestamp"] = naive_local.tz_localize("UTC")
        duplicate = bars.loc[[msft]].assign(close=bars.loc[msft, "close"] * 0.97)
        return PriceBatch(bars=pd.concat([bars, duplicate], ignore_index=True))


def test_bad_batch_is_quarantined_with_reasons_and_online_values_stay(prefect_api, prod_stack):
    register_source("bad-batch", BadBatchSource)
    online_before = online(prod_stack)
    prices_before = table_count(prod_stack.settings.pg_dsn, "prices")

    state = daily_update(source="bad-batch", tickers=TICKERS, as_of=AFTER_JULY_2, return_state=True)

    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    for reason in ("low is not a positive price", "close is missing (NaN)",
                   "more than one row for the same (ticker, session)",
                   "event_timestamp is not the XNYS close of its session"):
        assert reason in message
    quarantined = prod_stack.warehouse.read_quarantine("raw_prices")
    assert set(quarantined["ticker"]) == set(TICKERS)
    by_ticker = quarantined.groupby("ticker")["reason"].apply(" | ".join)
    assert "low is not a positive price" in by_ticker["AAPL"]
    assert "close is missing" in by_ticker["NVDA"]
    assert "more than one row" in by_ticker["MSFT"]
    assert "not the XNYS close" in by_ticker["SPY"]
    # Every fault is on July 2: that session is quarantined for each ticker, nothing of it stored.
    assert prod_stack.warehouse.read_bars(start=JULY_2, end=JULY_2).empty
    assert table_count(prod_stack.settings.pg_dsn, "prices") <= prices_before + 1  # AAPL's 06-25 re-restated
    # Online: nothing of July 2, the other tickers' values untouched, and AAPL's values are the
    # warehouse's latest known ones (its 06-25 bar, re-restated by this batch, was recomputed).
    after = online(prod_stack)
    others = [t for t in TICKERS if t != "AAPL"]
    pd.testing.assert_frame_equal(after.loc[others], online_before.loc[others])
    latest = prod_stack.warehouse.latest_features(TICKERS).set_index("ticker").sort_index()
    np.testing.assert_allclose(after[list(FEATURE_NAMES)].to_numpy(dtype=float),
                               latest[list(FEATURE_NAMES)].to_numpy(dtype=float), rtol=1e-12)


class CountingSample:
    """The sample source, counting which tickers were actually fetched."""

    fetched: list[list[str]] = []
    name = "counting-sample"

    def fetch(self, tickers, start, end) -> PriceBatch:
        CountingSample.fetched.append(list(tickers))
        return SampleSource().fetch(tickers, start, end)


def test_backfill_loads_by_chunk_and_a_rerun_skips_what_is_done(prefect_api, prod_stack):
    from pipelines.backfill import backfill

    register_source("counting-sample", CountingSample)
    start, end = pd.Timestamp("2025-03-03").date(), pd.Timestamp("2025-06-30").date()
    summary = backfill(start, end, tickers=["JPM", "KO", "SPY"], source="counting-sample",
                       chunk_size=1, materialize=False)
    assert CountingSample.fetched == [["JPM"], ["KO"]]  # SPY was loaded by the stack already
    stored = prod_stack.warehouse.read_bars(["JPM", "KO"], start, end)
    sessions = len(sessions_between(start, end))
    assert stored.groupby("ticker").size().to_dict() == {"JPM": sessions, "KO": sessions}
    assert summary.ok and "1 tickers already loaded: skipped" in summary.notes

    CountingSample.fetched.clear()
    again = backfill(start, end, tickers=["JPM", "KO", "SPY"], source="counting-sample", chunk_size=1,
                     materialize=False)
    assert CountingSample.fetched == []
    assert "3 tickers already loaded: skipped" in again.notes
