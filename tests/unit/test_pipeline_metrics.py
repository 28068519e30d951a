"""Flows report their outcome to a Pushgateway with the names the alert rules expect."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from prometheus_client import generate_latest

from stockfeatures.metrics import pipeline_outcome_registry, push_pipeline_outcome


def test_failure_run_reports_failure_time_and_no_success():
    text = generate_latest(pipeline_outcome_registry(False, 1234.0)).decode()
    assert "stockfeatures_pipeline_last_failure_timestamp_seconds 1234.0" in text
    assert "last_success" not in text


def test_success_run_reports_newest_materialized_session_per_view():
    registry = pipeline_outcome_registry(True, 99.0, {"returns_daily": 10.0, "risk_daily": 11.0})
    text = generate_latest(registry).decode()
    assert 'stockfeatures_materialized_event_timestamp_seconds{view="risk_daily"} 11.0' in text


def test_nothing_is_pushed_without_a_gateway(monkeypatch):
    monkeypatch.delenv("STOCKFEATURES_PUSHGATEWAY_URL", raising=False)
    assert push_pipeline_outcome("daily_update", True) is False


def test_push_goes_to_the_flow_group_with_pushadd_semantics(monkeypatch):
    seen: list[tuple[str, str, bytes]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # pushadd_to_gateway uses POST (push would PUT and replace)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    monkeypatch.setenv("STOCKFEATURES_PUSHGATEWAY_URL", f"http://127.0.0.1:{server.server_port}")
    assert push_pipeline_outcome("warm_up", True) is True
    thread.join(5)
    server.server_close()
    method, path, body = seen[0]
    assert (method, path) == ("POST", "/metrics/job/stockfeatures_pipelines/flow/warm_up")
    assert b"stockfeatures_pipeline_last_success_timestamp_seconds" in body
