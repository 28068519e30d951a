"""The real server (infra/serve.sh, 2 uvicorn workers): metrics add up across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.serving.conftest import REPO, free_port

pytestmark = pytest.mark.integration

REQUESTS = 40


@pytest.fixture
def running_server(stack, tmp_path):
    port = free_port()
    env = {**os.environ, **stack.settings.feast_environment(),
           "STOCKFEATURES_REPO_DIR": str(stack.settings.repo_dir),
           "STOCKFEATURES_PROFILE": "prod",
           "STOCKFEATURES_PG_DSN": stack.settings.pg_dsn,
           "STOCKFEATURES_REDIS_URL": stack.settings.redis_url,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
           "STOCKFEATURES_UPSTREAM_CALL_PRICE_USD": "0.01"}
    process = subprocess.Popen(
        [str(REPO / "infra" / "serve.sh"), "--port", str(port), "--workers", "2"],
        env=env, cwd=REPO, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"server exited: {process.stdout.read().decode()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_count_every_request_of_every_worker(running_server):
    with httpx.Client(base_url=running_server) as client:
        for _ in range(REQUESTS):
            # A fresh connection each time so both workers get a share of the requests.
            answer = httpx.get(f"{running_server}/features/AAPL", params={"features": "ret_1d"})
            assert answer.status_code == 200
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
