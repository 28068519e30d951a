"""The HTTP API: feast-serve-compatible JSON, per-ticker reads, and 4xx for every bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from feast.feature_server_utils import convert_response_to_dict

from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.serving.http_app import create_app
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import make_server

pytestmark = pytest.mark.integration

TICKERS = ["AAPL", "MSFT", "NVDA"]


@pytest.fixture(scope="module")
def client(stack):
    warm_up_store(stack.store, stack.warehouse, TICKERS)
    with TestClient(create_app(make_server(stack, max_batch=3))) as test_client:
        yield test_client


def _columns(payload: dict) -> dict[str, dict]:
    names = payload["metadata"]["feature_names"]
    return {name: {k: v for k, v in column.items() if k != "sources"}
            for name, column in zip(names, payload["results"], strict=True)}


@pytest.mark.parametrize("request_body", [
    {"feature_service": MOMENTUM_SERVICE},
    {"features": ["risk_daily:vol_20d", "returns_daily:ret_1d", "returns_daily:ret_5d"]},
    {"features": ["returns_daily:ret_1d", "risk_daily:beta_60d"], "full_feature_names": True},
])
def test_get_online_features_answers_what_feast_answers(stack, client, request_body):
    body = {"entities": {"ticker": TICKERS}, **request_body}
    ours = client.post("/get-online-features", json=body)
    assert ours.status_code == 200
    features = (stack.store.get_feature_service(body["feature_service"])
                if "feature_service" in body else body["features"])
    feast = convert_response_to_dict(stack.store.get_online_features(
        features=features, entity_rows=[{"ticker": t} for t in TICKERS],
        full_feature_names=body.get("full_feature_names", False)).proto)
    # Feast orders features inside a view by set iteration (varies per process): compare by name.
    assert ours.json()["metadata"]["feature_names"][0] == "ticker"
    assert _columns(ours.json()) == _columns(feast)


def test_sources_are_added_only_when_asked(client):
    body = {"entities": {"ticker": ["AAPL"]}, "features": ["returns_daily:ret_1d"]}
    plain = client.post("/get-online-features", json=body).json()
    assert "sources" not in plain["results"][1]
    extended = client.post("/get-online-features", json={**body, "include_sources": True}).json()
    assert extended["results"][1]["sources"] == ["online"]


def test_feature_of_one_ticker_carries_value_time_and_source(client):
    answer = client.get("/features/aapl", params={"features": "ret_1d,vol_20d"})
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["ticker"] == "AAPL" and payload["status"] == "fresh"
    assert set(payload["features"]) == {"ret_1d", "vol_20d"}
    assert payload["features"]["ret_1d"]["source"] == "online"
    assert payload["features"]["ret_1d"]["event_timestamp"] == "2025-06-30T20:00:00Z"


def test_unknown_ticker_is_a_404_that_says_so(client):
    answer = client.get("/features/ZZZZ", params={"service": MOMENTUM_SERVICE})
    assert answer.status_code == 404
    assert answer.json()["status"] == "unknown" and "ZZZZ" in answer.json()["detail"]


BAD_REQUESTS = [
    ("post", {"content": b'{"entities": {"ticker": ["AAPL"]'}, 400, "not valid JSON"),
    ("post", {"content": b'["AAPL"]'}, 422, "JSON object"),
    ("post", {"json": {"features": ["returns_daily:ret_1d"]}}, 422, "'entities'"),
    ("post", {"json": {"entities": {"ticker": ["AAPL"]}}}, 422, "'features'"),
    ("post", {"json": {"entities": {"ticker": ["not a ticker!"]}, "features": ["ret_1d"]}}, 422, "not a ticker!"),
    ("post", {"json": {"entities": {"ticker": [42]}, "features": ["ret_1d"]}}, 422, "ticker must be a string"),
    ("post", {"json": {"entities": {"ticker": ["AAPL"]}, "features": ["returns_daily:nope"]}}, 404, "nope"),
    ("post", {"json": {"entities": {"ticker": ["AAPL"]}, "features": ["no_such_feature"]}}, 404, "no_such_feature"),
    ("post", {"json": {"entities": {"ticker": ["AAPL"]}, "feature_service": "ghost_v9"}}, 404, "ghost_v9"),
    ("post", {"json": {"entities": {"ticker": ["A", "B", "C", "D"]}, "features": ["ret_1d"]}}, 422, "maximum is 3"),
    ("get", {"url": "/features/BAD$TICKER"}, 422, "BAD$TICKER"),
    ("get", {"url": "/features/AAPL?features=ret_1d,bogus"}, 404, "bogus"),
    ("get", {"url": "/features/AAPL?service=ghost_v9"}, 404, "ghost_v9"),
    ("get", {"url": "/features/AAPL?as_of=yesterday"}, 422, "yesterday"),
    ("get", {"url": "/features/AAPL?as_of=2024-03-15T21:00:00"}, 422, "timezone"),
]


@pytest.mark.parametrize(("method", "kwargs", "status", "named"), BAD_REQUESTS)
def test_bad_input_gets_a_4xx_that_names_the_problem(client, method, kwargs, status, named):
    if method == "post":
        answer = client.post("/get-online-features", **kwargs)
    else:
        answer = client.get(kwargs["url"])
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]


def test_health_reports_both_stores(client):
    payload = client.get("/health").json()
    assert payload == {"status": "ok", "redis": "ok", "postgres": "ok", "circuit_breaker": "closed",
                       "postgres_circuit_breaker": "closed"}


def test_health_is_degraded_when_redis_is_unreachable(stack):
    from tests.integration.serving.conftest import free_port

    server = make_server(stack, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(server)) as test_client:
        answer = test_client.get("/health")
        read = test_client.get("/features/AAPL", params={"features": "ret_1d"})
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    assert read.status_code == 200 and read.json()["features"]["ret_1d"]["source"] == "offline"
