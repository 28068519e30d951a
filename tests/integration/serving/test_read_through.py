"""Read-through serving against real Redis and PostgreSQL: freshness, lazy fill, unknowns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE, features_in_service
from stockfeatures.prices.sample import SampleSource
from stockfeatures.serving.warm_up import warm_up_store
from stockfeatures.stages.ingest import ingest
from tests.integration.profile_stack import END, START
from tests.integration.serving.conftest import TUESDAY_MORNING, forget_online, make_server

pytestmark = pytest.mark.integration

FRIDAY_CLOSE = pd.Timestamp("2025-06-27 20:00", tz="UTC")


def _write_online(stack, ticker: str, event_timestamp: pd.Timestamp, value: float) -> None:
    """Put a ticker in the online store only (no warehouse rows), through Feast."""
    for view in ("returns_daily", "risk_daily"):
        columns = [f.name for f in stack.store.get_feature_view(view).features]
        frame = pd.DataFrame({"ticker": [ticker], "event_timestamp": [event_timestamp],
                              "created_timestamp": [event_timestamp],
                              **{c: [value] for c in columns}})
        stack.store.write_to_online_store(view, frame)


def test_value_of_latest_completed_session_is_a_fresh_online_hit(stack):
    server = make_server(stack)
    warm_up_store(stack.store, stack.warehouse, ["AAPL"])
    response = server.get_features(["AAPL"], service=MOMENTUM_SERVICE)
    item = response["AAPL"]
    assert item.status == "fresh"
    assert set(item.values) == {spec.name for spec in features_in_service(MOMENTUM_SERVICE)}
    assert item.sources == {"online"}
    assert {v.event_timestamp for v in item.values.values()} == {stack.latest.to_pydatetime()}
    assert server.warehouse.latest_reads["AAPL"] == 0


def test_friday_value_is_fresh_through_monday_close(stack):
    _write_online(stack, "FRI", FRIDAY_CLOSE, 0.5)
    monday_before_close = datetime(2025, 6, 30, 19, 59, tzinfo=UTC)
    assert make_server(stack, now=monday_before_close).get_features(["FRI"])["FRI"].status == "fresh"
    monday_after_close = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)
    after = make_server(stack, now=monday_after_close).get_features(["FRI"])["FRI"]
    assert after.status == "stale"
    assert after.values["ret_5d"].value == 0.5  # best value known is still served, marked stale


def test_a_value_written_again_is_served_anew_by_the_same_server(stack):
    """A worker keeps decoded replies by their bytes: a newer row for the same ticker (here a
    correction one second after the close) is read as the new value, and an answer already
    given keeps the values it had."""
    monday_close = pd.Timestamp("2025-06-30 20:00", tz="UTC")
    server = make_server(stack)
    _write_online(stack, "AGAIN", monday_close, 0.5)
    first = server.get_features(["AGAIN"])["AGAIN"]
    assert server.get_features(["AGAIN"])["AGAIN"].values["ret_5d"].value == 0.5
    _write_online(stack, "AGAIN", monday_close + pd.Timedelta(seconds=1), 0.75)
    second = server.get_features(["AGAIN"])["AGAIN"]
    assert (second.status, second.values["ret_5d"].value) == ("fresh", 0.75)
    assert {v.value for v in second.values.values()} == {0.75}
    assert {v.value for v in first.values.values()} == {0.5}


def test_value_before_a_holiday_stays_fresh_through_the_holiday(stack):
    early_close = pd.Timestamp("2025-07-03 17:00", tz="UTC")  # 13:00 New York, eve of July 4
    _write_online(stack, "HOL", early_close, 0.25)
    on_holiday = datetime(2025, 7, 4, 18, 0, tzinfo=UTC)
    monday_morning = datetime(2025, 7, 7, 15, 0, tzinfo=UTC)
    for now in (on_holiday, monday_morning):
        assert make_server(stack, now=now).get_features(["HOL"])["HOL"].status == "fresh"


def test_missing_ticker_is_filled_from_the_warehouse_and_next_read_is_a_hit(stack):
    server = make_server(stack)
    forget_online(server, "MSFT")
    first = server.get_features(["MSFT"], service=MOMENTUM_SERVICE)["MSFT"]
    assert (first.status, first.sources) == ("fresh", {"offline"})
    second = server.get_features(["MSFT"], service=MOMENTUM_SERVICE)["MSFT"]
    assert (second.status, second.sources) == ("fresh", {"online"})
    assert server.warehouse.latest_reads["MSFT"] == 1
    offline = stack.warehouse.latest_features(["MSFT"]).iloc[0]
    for name, value in second.values.items():
        np.testing.assert_allclose(value.value, offline[name], rtol=1e-12)


def test_ticker_with_prices_but_no_feature_rows_is_computed_from_prices(stack):
    ingest(SampleSource(tickers=["AMD"]), stack.warehouse, ["AMD"], START, END)
    server = make_server(stack)
    item = server.get_features(["AMD"], features=["ret_1d", "vol_20d", "mom_12_1_rank"])["AMD"]
    assert (item.status, item.sources) == ("fresh", {"computed"})
    bars = stack.warehouse.read_bars(tickers=["AMD"]).sort_values("event_timestamp")
    closes = bars["close"].to_numpy()
    np.testing.assert_allclose(item.values["ret_1d"].value, closes[-1] / closes[-2] - 1, rtol=1e-9)
    assert 0 < item.values["mom_12_1_rank"].value <= 1
    again = server.get_features(["AMD"], features=["ret_1d"])["AMD"]
    assert again.sources == {"online"}


def test_unknown_ticker_is_an_explicit_outcome_and_is_not_looked_up_again(stack):
    server = make_server(stack)
    forget_online(server, "NOPE")
    for _ in range(3):
        item = server.get_features(["NOPE", "AAPL"], features=["ret_1d"])["NOPE"]
        assert item.status == "unknown"
        assert item.values["ret_1d"].value is None and item.values["ret_1d"].source is None
    assert server.warehouse.latest_reads["NOPE"] == 1


def test_past_as_of_reads_point_in_time_from_the_offline_store(stack):
    server = make_server(stack)
    as_of = pd.Timestamp("2024-03-15 21:00", tz="UTC")  # a Friday, after the close
    item = server.get_features(["AAPL"], features=["ret_1d"], as_of=as_of)["AAPL"]
    expected = stack.warehouse.read_features(tickers=["AAPL"], start=date(2024, 3, 15), end=date(2024, 3, 15))
    assert item.status == "historical" and item.sources == {"offline"}
    assert item.values["ret_1d"].event_timestamp == pd.Timestamp("2024-03-15 20:00", tz="UTC")
    np.testing.assert_allclose(item.values["ret_1d"].value, expected["ret_1d"].iloc[-1], rtol=1e-12)


def test_warm_up_loads_every_ticker_so_the_first_reads_are_hits(stack):
    server = make_server(stack, now=TUESDAY_MORNING)
    tickers = ["AAPL", "MSFT", "NVDA", "SPY"]
    for ticker in tickers:
        forget_online(server, ticker)
    report = warm_up_store(stack.store, stack.warehouse)
    assert report.tickers >= len(tickers)
    response = server.get_features(tickers, service=MOMENTUM_SERVICE)
    assert all(item.sources == {"online"} and item.status == "fresh" for item in response.tickers)


def test_feature_age_is_observed_once_per_request_at_its_oldest_value(stack):
    from prometheus_client import REGISTRY

    _write_online(stack, "AGED", FRIDAY_CLOSE, 0.5)
    warm_up_store(stack.store, stack.warehouse, ["AAPL", "MSFT"])
    monday_before_close = datetime(2025, 6, 30, 19, 59, tzinfo=UTC)
    server = make_server(stack, now=monday_before_close)

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(f"stockfeatures_feature_age_seconds_{name}") or 0.0

    count, total = sample("count"), sample("sum")
    server.get_features(["AAPL", "AGED", "MSFT"], service=MOMENTUM_SERVICE)
    assert sample("count") - count == 1
    assert sample("sum") - total == pytest.approx(monday_before_close.timestamp() - FRIDAY_CLOSE.timestamp())
