"""Pure pieces of serving: breaker states, peer ranking, request parsing, cost estimate."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from stockfeatures.metrics import MIN_COST_WINDOW_S, SECONDS_PER_MONTH, monthly_cost
from stockfeatures.serving.breaker import CircuitBreaker
from stockfeatures.serving.errors import BadRequest
from stockfeatures.serving.feast_json import parse_request
from stockfeatures.serving.lazy_compute import rank_among_peers
from stockfeatures.serving.response import json_float, rfc3339


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_breaker_stays_open_for_the_cooldown_then_lets_one_probe_through():
    time = FakeTime()
    breaker = CircuitBreaker(cooldown_s=1.0, clock=time)
    breaker.record_failure()
    assert not breaker.allows()
    time.now = 1.5
    assert breaker.allows()          # the probe
    assert not breaker.allows()      # nobody else while it runs
    breaker.record_success()
    assert breaker.allows() and not breaker.is_open


def test_failed_probe_reopens_the_breaker_for_another_cooldown():
    time = FakeTime()
    breaker = CircuitBreaker(cooldown_s=1.0, clock=time)
    breaker.record_failure()
    time.now = 1.0
    assert breaker.allows()
    breaker.record_failure()
    time.now = 1.5
    assert not breaker.allows()


def test_rank_among_peers_matches_the_batch_percentile_rank():
    peers = pd.Series([0.1, 0.2, 0.3])
    ranks = rank_among_peers(pd.Series({"NEW": 0.25}), peers)
    universe = pd.Series([0.1, 0.2, 0.3, 0.25]).rank(pct=True)
    assert ranks["NEW"] == pytest.approx(universe.iloc[-1])


def test_rank_with_ties_and_no_peers():
    assert rank_among_peers(pd.Series({"X": 0.2}), pd.Series([0.2]))["X"] == pytest.approx(0.75)
    assert rank_among_peers(pd.Series({"X": 0.2}), pd.Series([], dtype=float))["X"] == 1.0
    assert math.isnan(rank_among_peers(pd.Series({"X": float("nan")}), pd.Series([0.1]))["X"])


@pytest.mark.parametrize(("body", "named"), [
    ([], "JSON object"),
    ({"entities": {"isin": ["X"]}, "features": ["a"]}, "'ticker'"),
    ({"entities": {"ticker": "AAPL"}, "features": ["a"]}, "list of ticker"),
    ({"entities": {"ticker": ["AAPL"]}, "features": "ret_1d"}, "list of feature"),
    ({"entities": {"ticker": ["AAPL"]}, "features": ["a"], "feature_service": "s"}, "not both"),
])
def test_malformed_feast_requests_are_rejected_with_the_reason(body, named):
    with pytest.raises(BadRequest, match=named):
        parse_request(body)


def test_request_data_for_on_demand_views_is_accepted_beside_the_ticker():
    parsed = parse_request({"entities": {"ticker": ["AAPL"], "target_annual_vol": [0.15]},
                            "features": ["vol_target:vol_target_weight"]})
    assert parsed.tickers == ["AAPL"]


def test_monthly_cost_extrapolates_the_upstream_call_rate():
    assert monthly_cost(10, 7200.0, 0.01) == pytest.approx(10 / 7200 * SECONDS_PER_MONTH * 0.01)
    assert monthly_cost(10, 0.0, 0.01) == 0.0


def test_monthly_cost_does_not_extrapolate_a_first_minute_burst():
    # 5 fills in the first 30 s once read as $258/month at $0.001 a call (issue 11).
    assert monthly_cost(5, 30.0, 0.001) == pytest.approx(5 / MIN_COST_WINDOW_S * SECONDS_PER_MONTH * 0.001)
    assert monthly_cost(5, 30.0, 0.001) < 4


def test_json_spelling_matches_feast_server():
    assert json_float(float("nan")) == "NaN" and json_float(None) is None
    assert rfc3339(pd.Timestamp("2025-06-30 20:00", tz="UTC").timestamp()) == "2025-06-30T20:00:00Z"
