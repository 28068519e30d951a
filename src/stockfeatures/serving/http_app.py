"""The HTTP feature server (FastAPI): feast-compatible reads and push, health and metrics.

The two read routes (POST /get-online-features, GET /features/{ticker}) are answered by a
plain ASGI dispatcher in front of FastAPI: its routing, middleware and exception layers
cost more per request than the online read itself. Everything else (health, metrics,
OpenAPI, 404/405) goes through FastAPI, whose routes for the read paths share the same
handlers (serving.http_reads) and carry the documented schemas (serving.http_schema).

Bodies over STOCKFEATURES_SERVING_MAX_BODY_BYTES get 413 before they are read whole: a
declared Content-Length over the limit is refused unread, a chunked one when it passes it.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from stockfeatures import metrics
from stockfeatures.serving import http_schema
from stockfeatures.serving.errors import BodyTooLarge
from stockfeatures.serving.health import HealthProbes
from stockfeatures.serving.http_push import PUSH_ROUTE, push
from stockfeatures.serving.http_reads import (
    Answer,
    ReadRunner,
    map_error,
    online_features,
    ticker_features,
)
from stockfeatures.serving.server import FeatureServer

JSON = "application/json"
ONLINE_ROUTE = "/get-online-features"
TICKER_ROUTE = "/features/{ticker}"
TIER_HEADER = "x-stockfeatures-tier"
_TICKER_PREFIX = "/features/"


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


async def read_body(scope, receive, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to pass `limit` bytes."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = 0
            if declared > limit:
                raise BodyTooLarge(_too_large(declared, limit))
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(_too_large(size, limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return (f"request body of {size} bytes or more is over the limit of {limit} bytes "
            "(STOCKFEATURES_SERVING_MAX_BODY_BYTES); ask for fewer tickers per request")


def _headers(answer: Answer) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(answer.body)).encode())]
    if answer.tier:
        headers.append((TIER_HEADER.encode(), answer.tier.encode()))
    if answer.status == 413:
        headers.append((b"connection", b"close"))
    return headers


async def _send(send, answer: Answer) -> None:
    await send({"type": "http.response.start", "status": answer.status, "headers": _headers(answer)})
    await send({"type": "http.response.body", "body": answer.body})


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status_code=answer.status, media_type=JSON)
    if answer.tier:
        response.headers[TIER_HEADER] = answer.tier
    return response


class FeatureApp(FastAPI):
    """FastAPI with the two read routes answered before its middleware stack (see module doc)."""

    runner: ReadRunner
    max_body: int
    _timers: dict

    def observe(self, template: str, seconds: float) -> None:
        # The labelled children are looked up once: labels() takes a lock and builds a key.
        timer = self._timers.get(template)
        if timer is None:
            timer = self._timers[template] = metrics.REQUEST_SECONDS.labels(template)
        timer.observe(seconds)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == ONLINE_ROUTE:
                started = time.perf_counter()
                try:
                    try:
                        raw = await read_body(scope, receive, self.max_body)
                    except BodyTooLarge as error:
                        answer = map_error(error)
                    else:
                        answer = await online_features(self.runner, raw)
                    await _send(send, answer)
                finally:
                    self.observe(ONLINE_ROUTE, time.perf_counter() - started)
                return
            ticker = path[len(_TICKER_PREFIX):]
            if method == "GET" and path.startswith(_TICKER_PREFIX) and ticker and "/" not in ticker:
                started = time.perf_counter()
                try:
                    params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
                    await _send(send, await ticker_features(self.runner, ticker, params))
                finally:
                    self.observe(TICKER_ROUTE, time.perf_counter() - started)
                return
        await super().__call__(scope, receive, send)


def create_app(server: FeatureServer) -> FeatureApp:
    app = FeatureApp(title="stockfeatures feature server", version="1",
                     description=http_schema.DESCRIPTION, docs_url="/docs", redoc_url=None)
    app.state.server = server
    app.runner = ReadRunner(server)
    app.max_body = server.options.max_body_bytes
    app._timers = {}
    probes = HealthProbes(server)

    # Reached for what the dispatcher passes on (e.g. an encoded slash in a ticker) and
    # what FastAPI answers itself (405, OpenAPI): same handlers, documented schemas.
    @app.post(ONLINE_ROUTE, response_model=http_schema.OnlineResponse,
              responses=http_schema.READ_ERRORS, openapi_extra=http_schema.ONLINE_BODY,
              summary="Feature values in the `feast serve` wire format")
    async def get_online_features(request: Request) -> Response:
        try:
            raw = await read_body(request.scope, request.receive, app.max_body)
        except BodyTooLarge as error:
            return _response(map_error(error))
        return _response(await online_features(app.runner, raw))

    @app.get(TICKER_ROUTE, response_model=http_schema.TickerResponse,
             responses=http_schema.TICKER_ERRORS, summary="Features of one ticker")
    async def features_of_ticker(ticker: str, request: Request, features: str | None = None,
                                 service: str | None = None, as_of: str | None = None) -> Response:
        return _response(await ticker_features(app.runner, ticker, dict(request.query_params)))

    @app.post(PUSH_ROUTE, response_model=http_schema.PushResponse, responses=http_schema.PUSH_ERRORS,
              openapi_extra=http_schema.PUSH_BODY,
              summary="Push intraday feature rows (the `feast serve` /push body)")
    async def push_rows(request: Request) -> Response:
        started = time.perf_counter()
        try:
            try:
                raw = await read_body(request.scope, request.receive, app.max_body)
            except BodyTooLarge as error:
                return _response(map_error(error))
            return _response(await push(app.runner, raw))
        finally:
            app.observe(PUSH_ROUTE, time.perf_counter() - started)

    @app.get("/health", response_model=http_schema.HealthResponse,
             responses={503: {"model": http_schema.HealthResponse, "description": "both stores down"}})
    async def health() -> Response:
        report = await probes.report()
        return _json(report, 503 if report["status"] == "down" else 200)

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition"}})
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render_latest()
        return Response(body, media_type=content_type)

    return app
