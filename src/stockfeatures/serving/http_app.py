"""The HTTP feature server (FastAPI): feast-compatible reads plus health and metrics.

The two read routes (POST /get-online-features, GET /features/{ticker}) are answered by a
plain ASGI dispatcher in front of FastAPI: its routing, middleware and exception layers
cost more per request than the online read itself, and the latency goals leave no room
for them. Everything else (health, metrics, 404/405, wrong methods) still goes through
FastAPI, whose routes for the read paths share the same handlers.

Handlers answer with orjson bytes: pydantic request models cost more than the whole read.
The online read (sub-millisecond) and the check of "already filled this session" markers
run on the event loop; anything that may wait (a fill, a lock wait, the warehouse, Feast
passthrough) runs in the thread pool so one slow ticker never stalls the worker's other
requests.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from stockfeatures import metrics
from stockfeatures.prices.tickers import InvalidTicker, validate_ticker
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving import feast_json
from stockfeatures.serving.errors import BadRequest, BatchTooLarge, ServingUnavailable
from stockfeatures.serving.health import check_health
from stockfeatures.serving.response import UNKNOWN
from stockfeatures.serving.server import FeatureServer

log = logging.getLogger(__name__)

JSON = "application/json"
ONLINE_ROUTE = "/get-online-features"
TICKER_ROUTE = "/features/{ticker}"
_TICKER_PREFIX = "/features/"
_JSON_HEADERS = [(b"content-type", b"application/json")]

# (status, body): what the read handlers produce, before any framework wraps it.
Answer = tuple[int, bytes]


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


def _error(status: int, kind: str, detail: str) -> Answer:
    metrics.ERRORS.labels(kind).inc()
    return status, orjson.dumps({"error": kind, "detail": detail})


def _error_answer(error: Exception) -> Answer:
    if isinstance(error, InvalidTicker):
        return _error(422, "invalid_ticker", str(error))
    if isinstance(error, BatchTooLarge):
        return _error(422, "batch_too_large", str(error))
    if isinstance(error, UnknownFeature):
        return _error(404, "unknown_feature", str(error).strip("\"'"))
    if isinstance(error, BadRequest | ValueError):
        return _error(422, "bad_request", str(error))
    if isinstance(error, ServingUnavailable):
        return _error(503, "unavailable", str(error))
    log.exception("unexpected serving error")
    return _error(500, "internal", f"{type(error).__name__}: {error}")


async def _complete(server: FeatureServer, lookup) -> None:
    """Misses a fill already settled this session are served on the loop (one Redis
    round trip); only those that need a fill, a lock wait or the warehouse go to a thread."""
    server.serve_checked_misses(lookup)
    if lookup.misses:
        await run_in_threadpool(server.resolve_misses, lookup)


async def online_features(server: FeatureServer, raw: bytes) -> Answer:
    """POST /get-online-features: the `feast serve` wire format in and out."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return _error(400, "malformed_json", f"request body is not valid JSON: {error}")
    try:
        parsed = feast_json.parse_request(body)
        order = [validate_ticker(t) for t in parsed.tickers]
        tickers = server.validate(order)
        plan = server.plans.resolve(parsed.features, parsed.service)
        if plan.passthrough:
            return 200, orjson.dumps(await run_in_threadpool(_feast_passthrough, server, parsed))
        lookup = server.read_online(plan, tickers)
        if lookup.misses:
            await _complete(server, lookup)
        return 200, orjson.dumps(feast_json.render(lookup.response(), plan, parsed, order))
    except Exception as error:  # mapped to 4xx for bad input, 503 for outages
        return _error_answer(error)


async def ticker_features(server: FeatureServer, ticker: str, params: dict[str, str]) -> Answer:
    """GET /features/{ticker}?features=a,b | ?service=s [&as_of=ISO time]."""
    features = [f for f in params.get("features", "").split(",") if f.strip()] or None
    service = params.get("service") or None
    as_of = params.get("as_of")
    try:
        if as_of:
            stamp = _parse_as_of(as_of)
            response = await run_in_threadpool(server.get_features, [ticker], features, service, stamp)
        else:
            plan = server.plans.resolve([f.strip() for f in features] if features else None, service)
            if plan.passthrough:
                raise UnknownFeature("on-demand features need request data: use POST /get-online-features")
            lookup = server.read_online(plan, server.validate([ticker]))
            if lookup.misses:
                await _complete(server, lookup)
            response = lookup.response()
    except Exception as error:
        return _error_answer(error)
    item = response.to_dict()["tickers"][0]
    if item["status"] == UNKNOWN:
        metrics.ERRORS.labels("unknown_ticker").inc()
        return 404, orjson.dumps({"error": "unknown_ticker", **item,
                                  "detail": f"no online, offline or price data for ticker {item['ticker']!r}"})
    return 200, orjson.dumps(item)


class TimingMiddleware:
    """Request latency by route template (never the raw path: it holds tickers)."""

    def __init__(self, app):
        self.app = app
        self._children: dict[str, object] = {}

    def observe(self, template: str, seconds: float) -> None:
        child = self._children.get(template)
        if child is None:
            child = self._children[template] = metrics.REQUEST_SECONDS.labels(template)
        child.observe(seconds)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            self.observe(getattr(route, "path", "unmatched"), time.perf_counter() - started)


class FeatureApp(FastAPI):
    """FastAPI with the two read routes answered before its middleware stack (see module doc)."""

    server: FeatureServer
    timing: TimingMiddleware

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == ONLINE_ROUTE:
                started = time.perf_counter()
                try:
                    status, body = await online_features(self.server, await _read_body(receive))
                    await _send(send, status, body)
                finally:
                    self.timing.observe(ONLINE_ROUTE, time.perf_counter() - started)
                return
            if method == "GET" and path.startswith(_TICKER_PREFIX) and "/" not in path[len(_TICKER_PREFIX):] \
                    and len(path) > len(_TICKER_PREFIX):
                started = time.perf_counter()
                try:
                    params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
                    status, body = await ticker_features(self.server, path[len(_TICKER_PREFIX):], params)
                    await _send(send, status, body)
                finally:
                    self.timing.observe(TICKER_ROUTE, time.perf_counter() - started)
                return
        await super().__call__(scope, receive, send)


async def _read_body(receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _send(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _CoalescingTransport:
    """Holds a response's header block until its body is written, so both leave in one send.

    uvicorn writes the status line and headers, then the body, as two transport writes:
    two syscalls, two TCP segments and two wake-ups of the client per response. On a
    2-core box shared with the load generator that second wake-up is a measurable part of
    the tail. Everything but write and close passes straight to the real transport.
    """

    __slots__ = ("_transport", "_pending")

    def __init__(self, transport):
        self._transport = transport
        self._pending: bytes | None = None

    def write(self, data) -> None:
        if self._pending is not None:
            data, self._pending = self._pending + bytes(data), None
        elif data[:9] == b"HTTP/1.1 " and data[-4:] == b"\r\n\r\n" and data[9:13] != b"100 ":
            self._pending = bytes(data)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._pending is not None:
            data, self._pending = self._pending, None
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with one write per response (see _CoalescingTransport)."""

    def connection_made(self, transport) -> None:
        super().connection_made(_CoalescingTransport(transport))

    def on_response_complete(self) -> None:
        # A response with no body write (HEAD) still has its headers pending.
        self.transport.flush()
        super().on_response_complete()


def create_app(server: FeatureServer) -> FeatureApp:
    app = FeatureApp(title="stockfeatures feature server", docs_url=None, redoc_url=None)
    app.add_middleware(TimingMiddleware)
    app.state.server = server
    app.server = server
    # The dispatcher records its routes on the same histogram; the middleware instance is
    # built lazily by Starlette, so the fast path keeps its own (label children are cached).
    app.timing = TimingMiddleware(None)

    # Reached only for what the dispatcher passes on (e.g. a path with an encoded slash);
    # kept so FastAPI still answers 405 for wrong methods on these paths.
    @app.post(ONLINE_ROUTE)
    async def get_online_features(request: Request) -> Response:
        status, body = await online_features(server, await request.body())
        return Response(body, status_code=status, media_type=JSON)

    @app.get(TICKER_ROUTE)
    async def features_of_ticker(ticker: str, request: Request) -> Response:
        status, body = await ticker_features(server, ticker, dict(request.query_params))
        return Response(body, status_code=status, media_type=JSON)

    @app.get("/health")
    async def health() -> Response:
        report = await run_in_threadpool(check_health, server)
        return _json(report, 503 if report["status"] == "down" else 200)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render_latest()
        return Response(body, media_type=content_type)

    return app


def _parse_as_of(text: str):
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise BadRequest(f"as_of {text!r} is not an ISO timestamp") from None
    if stamp.tzinfo is None:
        raise BadRequest(f"as_of {text!r} has no timezone; write e.g. 2025-06-30T20:00:00Z")
    return stamp


def _feast_passthrough(server: FeatureServer, parsed: feast_json.OnlineRequest) -> dict:
    """On-demand views need request data (e.g. target_annual_vol): Feast computes them."""
    from feast.feature_server_utils import convert_response_to_dict

    store = server.store
    features = store.get_feature_service(parsed.service) if parsed.service else parsed.features
    entities = dict(parsed.body["entities"])
    response = store.get_online_features(
        features=features, entity_rows=entities, full_feature_names=parsed.full_feature_names
    )
    return convert_response_to_dict(response.proto)
