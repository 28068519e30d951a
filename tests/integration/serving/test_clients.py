"""stockfeatures.client against the real server process: typed values, errors, retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from stockfeatures.client import (
    AsyncFeatureClient,
    ClientOptions,
    FeatureClient,
    FeatureClientError,
    FeaturesUnavailable,
    InProcessFeatures,
)
from stockfeatures.features.spec import MOMENTUM_SERVICE
from tests.integration.serving.conftest import free_port, make_server

pytestmark = pytest.mark.integration

FEATURES = ["ret_1d", "vol_20d"]


@pytest.fixture(scope="module")
def base_url(one_worker_server):
    host, port = one_worker_server
    return f"http://{host}:{port}"


def test_sync_client_returns_typed_values_matching_the_server(stack, base_url):
    expected = make_server(stack).get_features(["AAPL"], FEATURES)["AAPL"]
    with FeatureClient(base_url) as client:
        aapl = client.get_features("AAPL", FEATURES)
    assert aapl.ticker == "AAPL" and set(aapl.features) == set(FEATURES)
    for name in FEATURES:
        feature = aapl[name]
        assert feature.value == expected.values[name].value
        assert feature.event_timestamp == expected.values[name].event_timestamp
        assert feature.status in ("PRESENT", "OUTSIDE_MAX_AGE")
        assert feature.source in ("online", "offline", "computed") and feature.age_s > 0
    assert aapl.tier in ("online", "cache", "warehouse")


def test_async_client_reads_a_service_for_several_tickers(base_url):
    async def read():
        async with AsyncFeatureClient(base_url) as client:
            return await client.get_many(["AAPL", "MSFT", "ZZZZ"], service=MOMENTUM_SERVICE)

    found = asyncio.run(read())
    assert list(found) == ["AAPL", "MSFT", "ZZZZ"]
    assert found["AAPL"].found and not found["ZZZZ"].found
    assert {f.status for f in found["ZZZZ"].features.values()} == {"NOT_FOUND"}


def test_as_of_read_is_point_in_time(base_url):
    with FeatureClient(base_url) as client:
        past = client.get_features("AAPL", FEATURES, as_of=datetime(2025, 1, 15, tzinfo=UTC))
    assert past["ret_1d"].event_timestamp < datetime(2025, 1, 15, tzinfo=UTC)
    assert past["ret_1d"].status == "PRESENT" and past["ret_1d"].source == "offline"


def test_client_mistake_raises_at_once_with_the_servers_reason(base_url):
    with FeatureClient(base_url) as client, pytest.raises(FeatureClientError) as raised:
        client.get_features("AAPL", ["no_such_feature"])
    assert raised.value.status == 404 and raised.value.kind == "unknown_feature"
    assert "no_such_feature" in raised.value.detail


def test_unreachable_server_is_retried_then_reported():
    options = ClientOptions(timeout_s=0.5, retries=2, backoff_s=0.01, max_backoff_s=0.02)
    with FeatureClient(f"http://127.0.0.1:{free_port()}", options) as client, \
            pytest.raises(FeaturesUnavailable, match="after 3 attempts"):
        client.get_features("AAPL", FEATURES)


def test_in_process_api_get_features_and_warm_cache(stack):
    features = InProcessFeatures(make_server(stack))

    async def run():
        warmed = await features.warm_cache(["AAPL", "MSFT"])
        return warmed, await features.get_features("AAPL", FEATURES)

    warmed, aapl = asyncio.run(run())
    assert warmed == 2
    assert aapl["ret_1d"].status == "PRESENT" and aapl["ret_1d"].source == "online"
    assert aapl["ret_1d"].age_s > 0


def test_live_strategy_example_trades_through_the_client(base_url):
    import subprocess
    import sys

    from tests.integration.serving.conftest import REPO

    out = subprocess.run([sys.executable, str(REPO / "examples" / "live_strategy.py"), "--url", base_url,
                          "--tickers", "AAPL", "MSFT", "NVDA", "--top", "2"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert all(ticker in out for ticker in ("AAPL", "MSFT", "NVDA"))
    # The server runs on the real clock, so the stack's 2025 values are stale: nothing traded.
    assert "0 positions" in out and "3 tickers not fresh (not traded)" in out
