"""The real server's wire behaviour: every response leaves whole, HEAD included, and a
keep-alive connection keeps serving after it (granian, the production server)."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

pytestmark = pytest.mark.integration

TIMEOUT_S = 10.0  # a response held back by the transport shows up as a timeout, not a hang


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _read_response(sock: socket.socket, buffer: bytearray, *, head_only: bool) -> tuple[int, dict, bytes]:
    """One response off a keep-alive socket; leftover bytes stay in buffer."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed mid-response: {bytes(buffer)!r}")
        buffer += chunk
    raw_head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before the whole body arrived")
        rest += chunk
    buffer[:] = rest[length:]
    return int(status_line.split()[1]), headers, rest[:length]


@pytest.fixture
def connection(one_worker_server):
    with socket.create_connection(one_worker_server, timeout=TIMEOUT_S) as sock:
        yield sock


@pytest.mark.parametrize("path", ["/health", "/features/AAPL?features=ret_1d"])
def test_head_completes_and_the_connection_then_serves_a_get(connection, path):
    buffer = bytearray()
    connection.sendall(_request("HEAD", path))
    status, headers, _ = _read_response(connection, buffer, head_only=True)
    assert status < 500
    assert "content-type" in headers

    connection.sendall(_request("GET", "/features/AAPL?features=ret_1d"))
    status, headers, body = _read_response(connection, buffer, head_only=False)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    answer = json.loads(body)
    assert answer["ticker"] == "AAPL" and "ret_1d" in answer["features"]
    assert buffer == b""


def test_pipelined_requests_each_get_their_own_whole_response(connection):
    body = json.dumps({"entities": {"ticker": ["MSFT", "AAPL"]}, "features": ["returns_daily:ret_1d"]})
    connection.sendall(_request("GET", "/health") + _request("POST", "/get-online-features", body.encode())
                       + _request("GET", "/features/AAPL?features=ret_1d"))
    buffer = bytearray()
    statuses = []
    for _ in range(3):
        status, _, raw = _read_response(connection, buffer, head_only=False)
        statuses.append(status)
        json.loads(raw)
    assert statuses == [200, 200, 200]


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/get-online-features",
     {"entities": {"ticker": ["AAPL", "MSFT"]}, "feature_service": "momentum_v1"}),
    ("GET", "/features/MSFT?service=momentum_v1", None),
    ("GET", "/features/NOPE?features=ret_1d", None),
    ("POST", "/get-online-features", {"entities": {"ticker": ["AAPL"]}, "features": ["no:such"]}),
])
def test_fast_route_responses_arrive_whole(one_worker_server, method, path, body):
    host, port = one_worker_server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=TIMEOUT_S) as client:
        for _ in range(2):  # the second rides the same keep-alive connection
            answer = client.request(method, path, json=body)
            assert answer.headers["content-type"].startswith("application/json")
            assert int(answer.headers["content-length"]) == len(answer.content)
            payload = answer.json()
            assert payload
    if "NOPE" in path:
        assert answer.status_code == 404 and payload["error"] == "unknown_ticker"
    elif "no:such" in json.dumps(body):
        assert 400 <= answer.status_code < 500 and "error" in payload
    else:
        assert answer.status_code == 200


def test_metrics_response_arrives_whole_and_parses(one_worker_server):
    from prometheus_client.parser import text_string_to_metric_families

    host, port = one_worker_server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=TIMEOUT_S) as client:
        client.get("/features/AAPL", params={"features": "ret_1d"})
        for _ in range(2):
            answer = client.get("/metrics")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain")
            names = {f.name for f in text_string_to_metric_families(answer.text)}
            assert "stockfeatures_requests" in names
        assert client.get("/health").status_code == 200
