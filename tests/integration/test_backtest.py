"""Backtests see the world as it was known at each decision time; the naive merge does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.backtest import (
    momentum_portfolio_returns,
    naive_panel,
    performance,
    point_in_time_panel,
    rebalance_times,
)
from stockfeatures.trading_calendar import session_close
from tests.integration.profile_stack import TICKERS, build_stack

pytestmark = pytest.mark.integration

NY = "America/New_York"
# Friday 2025-05-30 is the last session of May; Monday 2025-06-02 the next one.
BAR_SESSION = "2025-05-30"
PREVIOUS_SESSION = "2025-05-29"
NEXT_SESSION = "2025-06-02"
RESTATED_TICKER = "AAPL"


def _ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NY).tz_convert("UTC")


def _close(session: str) -> pd.Timestamp:
    return session_close([session])[0]


def _stored_value(stack, ticker: str, session: str, feature: str, as_of: pd.Timestamp) -> float:
    rows = stack.warehouse.read_features(tickers=[ticker], as_of=as_of)
    row = rows[rows["event_timestamp"] == _close(session)]
    assert len(row) == 1, f"no stored {ticker} row for {session}"
    return float(row[feature].iloc[0])


def _restate(stack, ticker: str, session: str, feature: str, known_at: pd.Timestamp) -> float:
    """Append a new version of one feature row, learned at `known_at`; returns the new value."""
    rows = stack.warehouse.read_features(tickers=[ticker])
    row = rows[rows["event_timestamp"] == _close(session)].copy()
    original = float(row[feature].iloc[0])
    restated = 0.05 if original > 0.5 else 0.95  # inside mom_12_1_rank's (0, 1] bounds
    row[feature] = restated
    row["created_timestamp"] = known_at
    assert stack.warehouse.write_features(row).inserted == 1
    return restated


def _value(panel: pd.DataFrame, ticker: str, at: pd.Timestamp, feature: str) -> float:
    match = panel[(panel["ticker"] == ticker) & (panel["event_timestamp"] == at)]
    assert len(match) == 1
    return float(match[feature].iloc[0])


@pytest.fixture(scope="module", params=["local", "prod"])
def restated_stack(request, tmp_path_factory):
    """A store whose RESTATED_TICKER bar of BAR_SESSION is revised at 10:00 NY the next session."""
    extra = {}
    if request.param == "prod":
        extra = {"pg_dsn": request.getfixturevalue("pg_dsn"),
                 "redis_url": request.getfixturevalue("redis_url")}
    with pytest.MonkeyPatch.context() as monkeypatch:
        stack = build_stack(request.param, tmp_path_factory.mktemp(request.param), monkeypatch, **extra)
        restated_at = _ny(f"{NEXT_SESSION} 10:00")
        original = _stored_value(stack, RESTATED_TICKER, BAR_SESSION, "mom_12_1_rank", restated_at
                                 - pd.Timedelta(seconds=1))
        restated = _restate(stack, RESTATED_TICKER, BAR_SESSION, "mom_12_1_rank", restated_at)
        yield stack, original, restated, restated_at


def test_restated_bar_is_hidden_from_rebalances_before_its_restatement(restated_stack):
    stack, original, restated, restated_at = restated_stack
    before, after = restated_at - pd.Timedelta(minutes=30), restated_at + pd.Timedelta(minutes=30)
    panel = point_in_time_panel(stack.store, [RESTATED_TICKER], [before, after])
    assert _value(panel, RESTATED_TICKER, before, "mom_12_1_rank") == pytest.approx(original)
    assert _value(panel, RESTATED_TICKER, after, "mom_12_1_rank") == pytest.approx(restated)


def test_naive_panel_uses_the_future_restatement_where_the_pit_panel_does_not(restated_stack):
    stack, original, restated, _ = restated_stack
    decision = _ny(f"{BAR_SESSION} 15:30")
    pit = point_in_time_panel(stack.store, [RESTATED_TICKER], [decision])
    naive = naive_panel(stack.warehouse, [RESTATED_TICKER], [decision])
    assert _value(naive, RESTATED_TICKER, decision, "mom_12_1_rank") == pytest.approx(restated)
    known = _stored_value(stack, RESTATED_TICKER, PREVIOUS_SESSION, "mom_12_1_rank", decision)
    assert _value(pit, RESTATED_TICKER, decision, "mom_12_1_rank") == pytest.approx(known)
    assert original != pytest.approx(restated)


def test_bar_is_invisible_to_a_rebalance_before_its_session_close(restated_stack):
    stack, *_ = restated_stack
    before_close, at_close = _ny(f"{BAR_SESSION} 15:30"), _close(BAR_SESSION)
    panel = point_in_time_panel(stack.store, TICKERS, [before_close, at_close], features=["ret_1d"])
    for ticker in TICKERS:
        yesterday = _stored_value(stack, ticker, PREVIOUS_SESSION, "ret_1d", at_close)
        today = _stored_value(stack, ticker, BAR_SESSION, "ret_1d", at_close)
        assert yesterday != today
        assert _value(panel, ticker, before_close, "ret_1d") == pytest.approx(yesterday)
        assert _value(panel, ticker, at_close, "ret_1d") == pytest.approx(today)


def test_naive_date_merge_reads_the_bar_that_closes_after_the_decision(restated_stack):
    stack, *_ = restated_stack
    decision = _ny(f"{BAR_SESSION} 15:30")
    naive = naive_panel(stack.warehouse, TICKERS, [decision], features=["ret_1d"])
    assert (naive["feature_event_timestamp"] == _close(BAR_SESSION)).all()
    assert (naive["feature_event_timestamp"] > decision).all()
    for ticker in TICKERS:
        today = _stored_value(stack, ticker, BAR_SESSION, "ret_1d", decision + pd.Timedelta(days=1))
        assert _value(naive, ticker, decision, "ret_1d") == pytest.approx(today)


def test_point_in_time_panel_returns_utc_aware_decision_times(restated_stack):
    stack, *_ = restated_stack
    times = rebalance_times("2025-01-01", "2025-04-30", before_close=pd.Timedelta(minutes=30))
    panel = point_in_time_panel(stack.store, TICKERS, times)
    assert str(panel["event_timestamp"].dt.tz) == "UTC"
    assert set(panel["event_timestamp"]) == set(times)
    assert len(panel) == len(TICKERS) * len(times)


def test_rebalance_on_an_early_close_day_is_at_13_00_new_york():
    # 2024-11-29, the day after Thanksgiving, is November's last session and closes at 13:00.
    times = rebalance_times("2024-11-01", "2024-12-31").tz_convert(NY)
    assert [t.strftime("%Y-%m-%d %H:%M") for t in times] == ["2024-11-29 13:00", "2024-12-31 16:00"]
    early = rebalance_times("2024-11-01", "2024-11-30", before_close=pd.Timedelta(minutes=30))
    assert early.tz_convert(NY)[0].strftime("%H:%M") == "12:30"


def test_rebalance_times_skip_a_month_whose_last_session_lies_after_the_range():
    times = rebalance_times("2025-01-15", "2025-03-20").tz_convert(NY)
    assert [t.strftime("%Y-%m-%d") for t in times] == ["2025-01-31", "2025-02-28"]


def test_quarterly_rebalances_fall_on_each_quarters_last_session():
    times = rebalance_times("2025-01-01", "2025-12-31", frequency="Q").tz_convert(NY)
    assert [t.strftime("%m-%d") for t in times] == ["03-31", "06-30", "09-30", "12-31"]


def _prices(closes: dict[str, list[float]], sessions: list[str]) -> pd.DataFrame:
    stamps = session_close(sessions)
    return pd.DataFrame(
        [(ticker, stamp, price) for ticker, series in closes.items()
         for stamp, price in zip(stamps, series, strict=True) if not np.isnan(price)],
        columns=["ticker", "event_timestamp", "close"],
    )


def test_portfolio_holds_the_top_names_from_the_next_close_to_the_following_one():
    sessions = ["2025-01-30", "2025-01-31", "2025-02-27", "2025-02-28", "2025-03-31"]
    prices = _prices({
        "AAA": [10.0, 10.0, 99.0, 12.0, 12.0],
        "BBB": [20.0, 20.0, 99.0, 10.0, 30.0],
        "CCC": [30.0, 30.0, 99.0, 33.0, 33.0],
        "DDD": [40.0, 40.0, 99.0, 40.0, 20.0],
    }, sessions)
    decisions = [_ny("2025-01-31 15:30"), _ny("2025-02-28 15:30"), _ny("2025-03-31 15:30")]
    panel = pd.DataFrame({
        "ticker": ["AAA", "BBB", "CCC", "DDD"] * 3,
        "event_timestamp": np.repeat(decisions, 4),
        "mom_12_1_rank": [1.0, 0.75, 0.5, 0.25, 0.25, 1.0, 0.75, np.nan, 0.1, 0.2, 0.3, 0.4],
    })
    returns = momentum_portfolio_returns(panel, prices, top_fraction=0.5)
    assert list(returns["names"]) == [2, 2]
    # January: AAA 10 -> 12 and BBB 20 -> 10; February: BBB 10 -> 30 and CCC 33 -> 33.
    assert returns["portfolio_return"].tolist() == pytest.approx([(0.2 - 0.5) / 2, (2.0 + 0.0) / 2])
    assert list(returns["held_from"]) == [_close("2025-01-31"), _close("2025-02-28")]
    assert list(returns["held_to"]) == [_close("2025-02-28"), _close("2025-03-31")]
    summary = performance(returns)
    assert summary.periods == 2
    assert summary.hit_rate == pytest.approx(0.5)
    assert summary.total_return == pytest.approx(0.85 * 2.0 - 1)


def test_a_decision_at_the_close_trades_at_the_next_close():
    sessions = ["2025-01-31", "2025-02-03", "2025-02-28", "2025-03-03"]
    prices = _prices({"AAA": [10.0, 11.0, 50.0, 55.0]}, sessions)
    decisions = [_close("2025-01-31"), _close("2025-02-28")]
    panel = pd.DataFrame({"ticker": ["AAA", "AAA"], "event_timestamp": decisions,
                          "mom_12_1_rank": [1.0, 1.0]})
    returns = momentum_portfolio_returns(panel, prices, top_fraction=1.0)
    assert returns["held_from"].iloc[0] == _close("2025-02-03")
    assert returns["portfolio_return"].iloc[0] == pytest.approx(55.0 / 11.0 - 1)
