"""No 5xx for any client input (issue 11, findings 3-5): each mistake is a 4xx naming it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from stockfeatures.features.on_demand import TARGET_VOL_FIELD, WEIGHT_FIELD
from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.metrics import render_latest
from stockfeatures.serving.http_app import create_app
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import make_server

pytestmark = pytest.mark.integration

ODFV = f"vol_target:{WEIGHT_FIELD}"


@pytest.fixture(scope="module")
def client(stack):
    warm_up_store(stack.store, stack.warehouse, ["AAPL", "MSFT"])
    with TestClient(create_app(make_server(stack, max_body_bytes=10_000)),
                    raise_server_exceptions=False) as test_client:
        yield test_client


def _internal_errors() -> float:
    text = render_latest()[0].decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('stockfeatures_errors_total{kind="internal"}'))


MISTAKES = [
    # (request, status, kind, words the detail must contain)
    ({"get": "/features/AAPL?as_of=0001-01-01T00:00:00Z"}, 422, "bad_request", "1970"),
    ({"get": "/features/AAPL?as_of=1600-01-01T00:00:00Z"}, 422, "bad_request", "1600-01-01"),
    ({"post": {"entities": {"ticker": ["AAPL"]}, "features": [ODFV]}}, 422, "missing_request_data",
     TARGET_VOL_FIELD),
    ({"post": {"entities": {"ticker": ["AAPL"], TARGET_VOL_FIELD: [0.15]}, "features": [ODFV, ODFV]}},
     422, "bad_request", ODFV),
    ({"post": {"entities": {"ticker": ["AAPL"]}, "features": ["ret_1d"], "full_feature_names": "no"}},
     422, "bad_request", "full_feature_names"),
    ({"post": {"entities": {"ticker": ["AAPL"]}, "features": ["ret_1d"], "include_sources": 1}},
     422, "bad_request", "include_sources"),
    ({"get": f"/features/AAPL?service={MOMENTUM_SERVICE}&features=ret_1d"}, 422, "bad_request", "not both"),
    ({"post": {"entities": {"ticker": ["AAPL"]}, "features": ["ret_1d"], "feature_service": MOMENTUM_SERVICE}},
     422, "bad_request", "not both"),
    ({"post": {"entities": {"ticker": ["AAPL"]}, "feature_service": "momo"}}, 404,
     "unknown_feature_service", "unknown feature service 'momo'; known services:"),
    ({"get": "/features/AAPL?service=momo"}, 404, "unknown_feature_service", "'momo'"),
    ({"post": {"entities": {"ticker": ["AAPL"], TARGET_VOL_FIELD: [0.1, 0.2]}, "features": [ODFV]}},
     422, "bad_request", TARGET_VOL_FIELD),
]


@pytest.mark.parametrize(("request_", "status", "kind", "named"), MISTAKES)
def test_client_mistake_is_a_4xx_that_names_it(client, request_, status, kind, named):
    internal_before = _internal_errors()
    if "get" in request_:
        answer = client.get(request_["get"])
    else:
        answer = client.post("/get-online-features", json=request_["post"])
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == kind
    assert named in answer.json()["detail"]
    assert _internal_errors() == internal_before


def test_as_of_before_any_data_says_so_and_names_the_instant(client):
    answer = client.get("/features/AAPL", params={"as_of": "1990-01-02T00:00:00Z", "features": "ret_1d"})
    assert answer.status_code == 404
    assert "as of 1990-01-02T00:00:00Z" in answer.json()["detail"]


def test_unknown_ticker_through_on_demand_passthrough_is_not_found(client):
    body = {"entities": {"ticker": ["AAPL", "ZZZZ"], TARGET_VOL_FIELD: [0.15, 0.15]}, "features": [ODFV]}
    answer = client.post("/get-online-features", json=body)
    assert answer.status_code == 200, answer.text
    column = answer.json()["results"][1]
    assert column["statuses"] == ["PRESENT", "NOT_FOUND"]
    assert column["values"][0] is not None and column["values"][1] is None


def test_body_over_the_limit_is_413_before_it_is_read(client):
    huge = b'{"entities": {"ticker": [' + b'"AAPL",' * 5000 + b'"AAPL"]}, "features": ["ret_1d"]}'
    answer = client.post("/get-online-features", content=huge,
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large" and "10000 bytes" in answer.json()["detail"]


def test_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"entities": {"ticker": ['
        for _ in range(3000):
            yield b'"AAPL",'
        yield b'"AAPL"]}, "features": ["ret_1d"]}'

    answer = client.post("/get-online-features", content=chunks(),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_responses_say_which_tier_answered(client):
    answer = client.post("/get-online-features",
                         json={"entities": {"ticker": ["AAPL"]}, "features": ["ret_1d"]})
    assert answer.headers["x-stockfeatures-tier"] == "online"
