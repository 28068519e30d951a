"""Misses a fill already settled this session are answered on the event loop, without a
thread hop and without the warehouse; a miss nobody settled still gets its one fill; once a
settled marker expires the ticker is re-checked beside the request, not in front of it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import CountingWarehouse, forget_online, make_server

pytestmark = pytest.mark.integration

# Wednesday 2025-07-02 15:00 UTC: Tuesday is the latest completed session but the stack's
# newest values are Monday's, so every ticker is stale and takes the miss path.
WEDNESDAY_MORNING = datetime(2025, 7, 2, 15, 0, tzinfo=UTC)


def _online_lookup(server, tickers: list[str]):
    return server.read_online(server.plans.resolve(None, MOMENTUM_SERVICE), tickers)


def _answer(item) -> dict:
    return {name: (v.value, v.event_timestamp) for name, v in item.values.items()}


def test_settled_stale_miss_is_served_from_online_values_without_the_warehouse(stack):
    server = make_server(stack, now=WEDNESDAY_MORNING)
    forget_online(server, "AAPL")
    first = server.get_features(["AAPL"], service=MOMENTUM_SERVICE)["AAPL"]
    assert first.status == "stale"
    assert server.warehouse.latest_reads["AAPL"] == 1

    lookup = _online_lookup(server, ["AAPL"])
    assert lookup.misses == ["AAPL"]
    server.serve_checked_misses(lookup)

    assert lookup.misses == []
    served = lookup.response()["AAPL"]
    assert served.status == "stale"
    assert served.sources == {"online"}  # the fill wrote Monday's row back online
    assert _answer(served) == _answer(first)
    assert server.warehouse.latest_reads["AAPL"] == 1


def test_settled_answer_is_the_one_the_threaded_miss_path_gives(stack):
    server = make_server(stack, now=WEDNESDAY_MORNING)
    forget_online(server, "NVDA")
    server.get_features(["NVDA"], service=MOMENTUM_SERVICE)
    threaded = server.get_features(["NVDA"], service=MOMENTUM_SERVICE)["NVDA"]

    lookup = _online_lookup(server, ["NVDA"])
    server.serve_checked_misses(lookup)

    on_loop = lookup.response()["NVDA"]
    assert (on_loop.status, on_loop.sources) == (threaded.status, threaded.sources)
    assert _answer(on_loop) == _answer(threaded)
    assert server.warehouse.latest_reads["NVDA"] == 1


def test_unsettled_miss_is_left_for_the_fill_even_beside_a_remembered_marker(stack):
    server = make_server(stack, now=WEDNESDAY_MORNING)
    forget_online(server, "AAPL")
    forget_online(server, "MSFT")
    server.get_features(["AAPL"], service=MOMENTUM_SERVICE)
    remembered = _online_lookup(server, ["AAPL"])
    server.serve_checked_misses(remembered)  # this worker now remembers AAPL's marker
    assert remembered.misses == []

    for _ in range(2):  # the second asks while AAPL's marker is remembered
        lookup = _online_lookup(server, ["AAPL", "MSFT"])
        server.serve_checked_misses(lookup)
        assert lookup.misses == ["MSFT"]
    assert "AAPL" in lookup.results
    assert server.warehouse.latest_reads["MSFT"] == 0

    server.resolve_misses(lookup)
    assert server.warehouse.latest_reads["MSFT"] == 1
    filled = lookup.response()["MSFT"]
    assert filled.status == "stale" and filled.sources == {"offline"}


def test_unsettled_miss_alone_goes_through_exactly_one_fill(stack):
    server = make_server(stack, now=WEDNESDAY_MORNING)
    forget_online(server, "AMZN")
    lookup = _online_lookup(server, ["AMZN"])
    server.serve_checked_misses(lookup)
    assert lookup.misses == ["AMZN"] and lookup.results == {}
    server.resolve_misses(lookup)
    assert server.warehouse.latest_reads["AMZN"] == 1
    # The fill settled it: the next request is answered on the loop, still one read.
    again = _online_lookup(server, ["AMZN"])
    server.serve_checked_misses(again)
    assert again.misses == []
    assert server.warehouse.latest_reads["AMZN"] == 1


def _wait_for_expiry(server, ticker: str) -> None:
    """Until Redis has forgotten the ticker's settled marker (negative_ttl_s)."""
    session = server.freshness.window(server.freshness.clock()).expected_close_s
    deadline = time.monotonic() + 10
    while server.locks.markers([ticker], session):
        assert time.monotonic() < deadline, "the settled marker never expired"
        time.sleep(0.05)


def test_an_expired_marker_is_rechecked_beside_the_request_not_in_front_of_it(stack):
    server = make_server(stack, now=WEDNESDAY_MORNING, negative_ttl_s=0.5)
    forget_online(server, "MSFT")
    first = server.get_features(["MSFT"], service=MOMENTUM_SERVICE)["MSFT"]
    assert first.status == "stale" and server.warehouse.latest_reads["MSFT"] == 1
    _wait_for_expiry(server, "MSFT")

    again = server.get_features(["MSFT"], service=MOMENTUM_SERVICE)["MSFT"]
    assert (again.status, again.sources) == ("stale", {"online"})
    assert _answer(again) == _answer(first)
    server.rechecks.drain()

    # The warehouse was asked again, by the re-check thread, and the outcome is settled anew.
    assert server.warehouse.latest_reads["MSFT"] == 2
    assert server.warehouse.latest_threads[-1].startswith("recheck")
    session = server.freshness.window(WEDNESDAY_MORNING).expected_close_s
    assert server.locks.markers(["MSFT"], session) == {"MSFT": "stale"}


def test_a_ticker_the_worker_never_settled_is_still_filled_in_the_request(stack):
    settling = make_server(stack, now=WEDNESDAY_MORNING, negative_ttl_s=0.5)
    forget_online(settling, "NVDA")
    settling.get_features(["NVDA"], service=MOMENTUM_SERVICE)
    _wait_for_expiry(settling, "NVDA")

    other_worker = make_server(stack, now=WEDNESDAY_MORNING, negative_ttl_s=0.5)
    item = other_worker.get_features(["NVDA"], service=MOMENTUM_SERVICE)["NVDA"]
    assert item.status == "stale"
    assert other_worker.warehouse.latest_reads["NVDA"] == 1
    assert other_worker.warehouse.latest_threads == ["MainThread"]


class ArrivingRow(CountingWarehouse):
    """The warehouse, where a newer row for `ticker` arrives when `arrived` is set: its
    latest row is restamped to `session_close`, as if the batch job had just written it."""

    def __init__(self, inner, ticker: str, session_close: pd.Timestamp):
        super().__init__(inner)
        self.ticker, self.session_close, self.arrived = ticker, session_close, False

    def latest_features(self, tickers=None, **kwargs):
        rows = super().latest_features(tickers, **kwargs)
        if self.arrived:
            rows = rows.copy()
            mine = rows["ticker"] == self.ticker
            rows.loc[mine, ["event_timestamp", "created_timestamp"]] = self.session_close
        return rows


def test_a_recheck_that_finds_a_newer_row_puts_it_online_for_the_next_read(stack):
    tuesday_close = pd.Timestamp("2025-07-01 20:00", tz="UTC")
    warehouse = ArrivingRow(stack.warehouse, "AAPL", tuesday_close)
    server = make_server(stack, now=WEDNESDAY_MORNING, negative_ttl_s=0.5, warehouse=warehouse)
    forget_online(server, "AAPL")
    try:
        first = server.get_features(["AAPL"], service=MOMENTUM_SERVICE)["AAPL"]
        assert first.status == "stale"
        _wait_for_expiry(server, "AAPL")
        warehouse.arrived = True

        meanwhile = server.get_features(["AAPL"], service=MOMENTUM_SERVICE)["AAPL"]
        assert meanwhile.status == "stale"  # what was settled, until the re-check is done
        server.rechecks.drain()

        fresh = server.get_features(["AAPL"], service=MOMENTUM_SERVICE)["AAPL"]
        assert (fresh.status, fresh.sources) == ("fresh", {"online"})
        assert {v.event_timestamp for v in fresh.values.values()} == {tuesday_close.to_pydatetime()}
        assert {k: v for k, (v, _) in _answer(fresh).items()} == {
            k: v for k, (v, _) in _answer(first).items()}
        assert warehouse.latest_reads["AAPL"] == 2
    finally:  # back to the stack's own online value: other tests read AAPL as a fresh hit
        forget_online(server, "AAPL")
        warm_up_store(stack.store, stack.warehouse, ["AAPL"])
