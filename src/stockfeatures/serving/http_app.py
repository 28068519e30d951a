"""The HTTP feature server (FastAPI): feast-compatible reads plus health and metrics.

Handlers take the raw Request and answer with orjson bytes: pydantic request models cost
more than the whole online read. The online read (sub-millisecond) runs on the event loop;
anything that may wait (a fill, a lock wait, the warehouse, Feast passthrough) runs in the
thread pool so one slow ticker never stalls the worker's other requests.
"""

from __future__ import annotations

import logging
import time

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

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


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


def _error(status: int, kind: str, detail: str) -> Response:
    metrics.ERRORS.labels(kind).inc()
    return _json({"error": kind, "detail": detail}, status)


def _error_response(error: Exception) -> Response:
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


class TimingMiddleware:
    """Request latency by route template (never the raw path: it holds tickers)."""

    def __init__(self, app):
        self.app = app
        self._children: dict[str, object] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            child = self._children.get(template)
            if child is None:
                child = self._children[template] = metrics.REQUEST_SECONDS.labels(template)
            child.observe(time.perf_counter() - started)


def create_app(server: FeatureServer) -> FastAPI:
    app = FastAPI(title="stockfeatures feature server", docs_url=None, redoc_url=None)
    app.add_middleware(TimingMiddleware)
    app.state.server = server

    @app.post("/get-online-features")
    async def get_online_features(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as error:
            return _error(400, "malformed_json", f"request body is not valid JSON: {error}")
        try:
            parsed = feast_json.parse_request(body)
            order = [validate_ticker(t) for t in parsed.tickers]
            tickers = server.validate(order)
            plan = server.plans.resolve(parsed.features, parsed.service)
            if plan.passthrough:
                return _json(await run_in_threadpool(_feast_passthrough, server, parsed))
            lookup = server.read_online(plan, tickers)
            if lookup.misses:
                await run_in_threadpool(server.resolve_misses, lookup)
            return _json(feast_json.render(lookup.response(), plan, parsed, order))
        except Exception as error:  # mapped to 4xx for bad input, 503 for outages
            return _error_response(error)

    @app.get("/features/{ticker}")
    async def features_of_ticker(ticker: str, request: Request) -> Response:
        params = request.query_params
        features = [f for f in params.get("features", "").split(",") if f.strip()] or None
        service = params.get("service") or None
        as_of = params.get("as_of")
        try:
            if as_of:
                stamp = _parse_as_of(as_of)
                response = await run_in_threadpool(
                    server.get_features, [ticker], features, service, stamp
                )
            else:
                plan = server.plans.resolve([f.strip() for f in features] if features else None, service)
                if plan.passthrough:
                    raise UnknownFeature("on-demand features need request data: use POST /get-online-features")
                lookup = server.read_online(plan, server.validate([ticker]))
                if lookup.misses:
                    await run_in_threadpool(server.resolve_misses, lookup)
                response = lookup.response()
        except Exception as error:
            return _error_response(error)
        item = response.to_dict()["tickers"][0]
        if item["status"] == UNKNOWN:
            metrics.ERRORS.labels("unknown_ticker").inc()
            return _json({"error": "unknown_ticker", **item,
                          "detail": f"no online, offline or price data for ticker {item['ticker']!r}"}, 404)
        return _json(item)

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
