"""The HTTP client's retry policy: 503 is retried with backoff, 4xx never (transport stub:
the network edge is the only thing replaced)."""

from __future__ import annotations

import httpx
import pytest

from stockfeatures.client import (
    ClientOptions,
    FeatureClient,
    FeatureClientError,
    FeaturesUnavailable,
)

ANSWER = {"results": [{"values": ["AAPL"], "statuses": ["PRESENT"], "event_timestamps": ["1970-01-01T00:00:00Z"]},
                      {"values": [0.01], "statuses": ["PRESENT"], "event_timestamps": ["2025-06-30T20:00:00Z"],
                       "sources": ["online"]}],
          "metadata": {"feature_names": ["ticker", "ret_1d"]}}
FAST = ClientOptions(retries=3, backoff_s=0.001, max_backoff_s=0.002)


def _client(answers: list[httpx.Response]) -> tuple[FeatureClient, list]:
    seen = []

    def handler(request):
        seen.append(request)
        return answers.pop(0)

    return FeatureClient("http://features.test", FAST, transport=httpx.MockTransport(handler)), seen


def test_503_is_retried_until_an_answer():
    unavailable = httpx.Response(503, json={"error": "unavailable", "detail": "both stores down"})
    client, seen = _client([unavailable, unavailable, httpx.Response(200, json=ANSWER)])
    aapl = client.get_features("AAPL", ["ret_1d"])
    assert len(seen) == 3 and aapl["ret_1d"].value == 0.01 and aapl["ret_1d"].source == "online"


def test_503_through_every_attempt_is_unavailable():
    client, seen = _client([httpx.Response(503, json={"error": "unavailable", "detail": "x"})] * 4)
    with pytest.raises(FeaturesUnavailable):
        client.get_features("AAPL", ["ret_1d"])
    assert len(seen) == 4


def test_4xx_is_not_retried():
    client, seen = _client([httpx.Response(422, json={"error": "invalid_ticker", "detail": "bad"})])
    with pytest.raises(FeatureClientError):
        client.get_features("AAPL", ["ret_1d"])
    assert len(seen) == 1
