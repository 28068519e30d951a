"""feast_json.render's columns are the per-cell rules, whatever mix of tickers it gets.

render takes shortcuts when every ticker is fresh (status from the value alone, finite
floats passed through, each event time spelled once); this checks its output cell by cell
against _status, json_float and rfc3339 for fresh, stale, unknown and historical tickers
with NaN, infinities, None and repeated or missing event times.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import orjson
import pytest

from stockfeatures.serving import feast_json
from stockfeatures.serving.feast_json import EPOCH, _status
from stockfeatures.serving.response import (
    FRESH,
    HISTORICAL,
    STALE,
    UNKNOWN,
    FeatureResponse,
    FeatureValue,
    TickerFeatures,
    json_float,
    rfc3339,
)

NAMES = ["a", "b", "c"]
CELLS = [(1.5, 1764709200.0), (None, 1764709200.0), (math.nan, 1764709200.5), (math.inf, None),
         (-math.inf, 1764622800.0), (0.0, None), (-2.5e-300, 1764709200.0), (None, None)]


def _response(statuses: list[str]) -> FeatureResponse:
    items = []
    for row, status in enumerate(statuses):
        values = {name: FeatureValue(*CELLS[(row + col) % len(CELLS)], "online")
                  for col, name in enumerate(NAMES)}
        items.append(TickerFeatures(f"T{row}", status, values))
    return FeatureResponse(NAMES, items)


def _expected_column(response: FeatureResponse, order: list[str], name: str) -> dict:
    rows = [response[t] for t in order]
    return {"values": [json_float(r.values[name].value) for r in rows],
            "statuses": [_status(r.status, r.values[name].value) for r in rows],
            "event_timestamps": [rfc3339(r.values[name].event_time_s) or EPOCH for r in rows]}


@pytest.mark.parametrize("statuses", [[FRESH] * 8, [FRESH, HISTORICAL] * 4,
                                      [FRESH, STALE, UNKNOWN, FRESH, HISTORICAL, STALE, FRESH, FRESH]])
def test_columns_follow_the_per_cell_rules(statuses: list[str]) -> None:
    response = _response(statuses)
    order = [item.ticker for item in response.tickers] + ["T0"]  # a repeated ticker is kept
    _assert_per_cell_rules(response, order)


@pytest.mark.parametrize("status", [FRESH, STALE, UNKNOWN, HISTORICAL])
@pytest.mark.parametrize("row", range(len(CELLS)))
def test_a_single_ticker_follows_the_per_cell_rules(status: str, row: int) -> None:
    """One ticker (the usual request) takes its own path: every kind of cell, every status."""
    response = _response([FRESH] * row + [status])
    one = FeatureResponse(NAMES, [response.tickers[row]])
    _assert_per_cell_rules(one, [f"T{row}"])


def _assert_per_cell_rules(response: FeatureResponse, order: list[str]) -> None:
    plan = SimpleNamespace(feature_names=NAMES, names=lambda full: NAMES)
    request = SimpleNamespace(include_sources=False, full_feature_names=False)
    payload = feast_json.render(response, plan, request, order)
    for index, name in enumerate(NAMES, start=1):
        expected = _expected_column(response, order, name)
        # Compared as JSON bytes: NaN != NaN as floats, and the wire is what matters.
        assert orjson.dumps(payload["results"][index]) == orjson.dumps(expected)
