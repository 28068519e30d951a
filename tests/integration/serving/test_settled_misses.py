"""Misses a fill already settled this session are answered on the event loop, without a
thread hop and without the warehouse; a miss nobody settled still gets its one fill."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE
from tests.integration.serving.conftest import forget_online, make_server

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
