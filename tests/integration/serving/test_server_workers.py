"""The real server (infra/serve.sh, 2 granian workers): metrics add up across processes."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.serving.conftest import forget_online, make_server, serve_process

pytestmark = pytest.mark.integration

REQUESTS = 40


@pytest.fixture
def running_server(stack, tmp_path):
    with serve_process(stack, tmp_path / "metrics", workers=2,
                       STOCKFEATURES_UPSTREAM_CALL_PRICE_USD="0.01") as port:
        yield f"http://127.0.0.1:{port}"


def _samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_count_every_request_of_every_worker(stack, running_server):
    # AAPL not online, whatever earlier tests left there: the first read must go upstream
    # for the cost gauge to move.
    forget_online(make_server(stack), "AAPL")
    with httpx.Client(base_url=running_server) as client:
        for _ in range(REQUESTS):
            # A fresh connection each time so both workers get a share of the requests.
            answer = httpx.get(f"{running_server}/features/AAPL", params={"features": "ret_1d"})
            assert answer.status_code == 200, (_, answer.text)
        text = client.get("/metrics").text
    samples = _samples(text)
    served = sum(s.value for s in samples if s.name == "stockfeatures_requests_total")
    assert served == REQUESTS
    timed = [s for s in samples if s.name == "stockfeatures_request_seconds_count"
             and s.labels == {"route": "/features/{ticker}"}]
    assert [s.value for s in timed] == [REQUESTS]
    started = {s.labels["pid"] for s in samples
               if s.name == "stockfeatures_server_start_time_seconds" and s.value > 0}
    assert len(started) == 2
    cost = [s.value for s in samples if s.name == "stockfeatures_estimated_monthly_cost_usd"]
    assert cost and cost[0] > 0
    assert not any("AAPL" in str(s.labels) for s in samples)


def test_metrics_show_no_worker_started_at_1970(running_server):
    text = httpx.get(f"{running_server}/metrics").text
    starts = [s.value for s in _samples(text) if s.name == "stockfeatures_server_start_time_seconds"]
    assert len(starts) == 2 and all(value > 1e9 for value in starts)


def test_server_says_where_it_listens_when_it_starts(stack, tmp_path):
    with serve_process(stack, tmp_path / "metrics", workers=1) as port:
        pass
    printed = (tmp_path / "metrics-server.log").read_text()
    assert f"starting 1 worker(s) on http://127.0.0.1:{port}" in printed
    assert "ready (profile prod" in printed


def test_first_request_to_a_new_worker_is_answered(stack, tmp_path):
    # A new worker's first read used to pay for imports, first connections and the session
    # windows (1.4 s on a fresh machine), past the 1 s deadline: the first client got a 503.
    with serve_process(stack, tmp_path / "metrics", workers=1) as port:
        answer = httpx.get(f"http://127.0.0.1:{port}/features/MSFT", params={"features": "ret_1d"})
    assert answer.status_code == 200, answer.text
