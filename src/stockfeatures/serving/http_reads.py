"""The two read routes' handlers: request in, (status, JSON bytes, tier) out.

Parsing and validation (pure CPU, microseconds) run on the event loop, and so does a fresh
hit of a request shape already resolved (an asyncio Redis read: its wait does not block the
loop). Any other read, which may wait on Redis, PostgreSQL or Feast, runs in a thread of
the worker's read pool; the whole read is under a deadline
(STOCKFEATURES_SERVING_READ_TIMEOUT_S, 1 s by default): past it the answer is 503, and
/health and /metrics keep answering because the loop never blocks.
Every client mistake maps to a 4xx whose message names the problem; 500 is left for bugs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
import psycopg
import redis
from feast import errors as feast_errors

from stockfeatures import metrics
from stockfeatures.prices.tickers import InvalidTicker, validate_ticker
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving import feast_json
from stockfeatures.serving.async_reader import AsyncRedisReader
from stockfeatures.serving.errors import (
    BadRequest,
    BatchTooLarge,
    BodyTooLarge,
    ServingUnavailable,
    UnknownService,
)
from stockfeatures.serving.historical import checked_as_of
from stockfeatures.serving.miss_path import REDIS_ERRORS, TIER_WAREHOUSE
from stockfeatures.serving.online_reader import RedisReader
from stockfeatures.serving.response import UNKNOWN
from stockfeatures.serving.server import FeatureServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    tier: str | None = None


def error_answer(status: int, kind: str, detail: str) -> Answer:
    metrics.ERRORS.labels(kind).inc()
    return Answer(status, orjson.dumps({"error": kind, "detail": detail}))


def json_body(raw: bytes) -> object | Answer:
    """The parsed request body, or the 400 that names why it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return error_answer(400, "malformed_json", f"request body is not valid JSON: {error}")


def _message(error: BaseException) -> str:
    # KeyError subclasses (UnknownFeature) would print their message in quotes.
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def map_error(error: BaseException) -> Answer:
    """Typed errors to status codes; anything unexpected is a 500 and logged."""
    if isinstance(error, InvalidTicker):
        return error_answer(422, "invalid_ticker", str(error))
    if isinstance(error, BodyTooLarge):
        return error_answer(413, "body_too_large", str(error))
    if isinstance(error, BatchTooLarge):
        return error_answer(422, "batch_too_large", str(error))
    if isinstance(error, UnknownService | feast_errors.FeatureServiceNotFoundException):
        return error_answer(404, "unknown_feature_service", _message(error))
    if isinstance(error, UnknownFeature | feast_errors.FeatureViewNotFoundException
                  | feast_errors.OnDemandFeatureViewNotFoundException):
        return error_answer(404, "unknown_feature", _message(error))
    if isinstance(error, feast_errors.RequestDataNotFoundInEntityRowsException):
        return error_answer(422, "missing_request_data",
                            f"{error}; pass them in 'entities' beside 'ticker', one value per ticker")
    if isinstance(error, feast_errors.FeatureNameCollisionError):
        return error_answer(422, "duplicate_feature", str(error))
    if isinstance(error, BadRequest | ValueError):
        return error_answer(422, "bad_request", str(error))
    if isinstance(error, (ServingUnavailable, psycopg.OperationalError, *REDIS_ERRORS)):
        return error_answer(503, "unavailable", str(error))
    log.error("unexpected serving error", exc_info=error)
    return error_answer(500, "internal", f"{type(error).__name__}: {error}")


class ReadRunner:
    """Runs reads for the HTTP layer: fresh hits of a known request shape on the event loop
    (asyncio Redis, serving.async_reader), everything that may block in the worker's read
    threads; the whole read is bounded by read_timeout_s."""

    def __init__(self, server: FeatureServer):
        self.server = server
        self.timeout_s = server.options.read_timeout_s
        self.executor = ThreadPoolExecutor(server.options.read_threads, thread_name_prefix="read")
        self._on_loop = isinstance(server.reader, RedisReader) and bool(server.redis_url)
        self._hits: tuple[asyncio.AbstractEventLoop, AsyncRedisReader] | None = None

    async def run(self, function, *args, timeout_s: float | None = None):
        future = asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(function, *args))
        try:
            return await asyncio.wait_for(future, self.timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            self.server.warehouse_guard.trip_if_stuck(self.server.options.pg_timeout_s)
            metrics.ERRORS.labels("read_timeout").inc()
            raise ServingUnavailable(
                f"no answer from the online store or the warehouse within {self.timeout_s:g} s "
                "(STOCKFEATURES_SERVING_READ_TIMEOUT_S); retry shortly") from None

    def _hit_reader(self) -> AsyncRedisReader:
        """This loop's asyncio client (a test client may run the app on a new loop)."""
        loop = asyncio.get_running_loop()
        if self._hits is None or self._hits[0] is not loop:
            server = self.server
            self._hits = (loop, AsyncRedisReader(server.reader, server.redis_url,
                                                 server.options.redis_timeout_s,
                                                 server.options.hit_cache_keys))
        return self._hits[1]

    async def read(self, features, service, tickers: list[str]):
        """(plan, lookup) as resolve_and_read returns them.

        On the loop: a plan already resolved, the asyncio online read, sorting hits from
        misses, and misses this worker already knows are settled. In a thread: the rest."""
        server = self.server
        plan = server.plans.cached(features, service) if self._on_loop else None
        if plan is None or plan.passthrough or not server.breaker.allows():
            return await self.run(resolve_and_read, server, features, service, tickers)
        started = time.monotonic()
        lookup = server.start_lookup(plan, tickers)
        try:
            # No wait_for (it would wrap the read in a new Task per request): the reader's
            # own timeout (redis_timeout_s) ends the wait well inside the deadline.
            online = await self._hit_reader().read(plan, tickers)
        except (*REDIS_ERRORS, redis.RedisError) as error:
            server.redis_failed(error)  # the breaker is open now: the thread reads the warehouse
            left = max(self.timeout_s - (time.monotonic() - started), 0.001)
            return plan, await self.run(server.read, plan, tickers, timeout_s=left)
        server.take_online(lookup, online)
        if lookup.misses:
            server.serve_remembered_misses(lookup)
        if lookup.misses:
            left = max(self.timeout_s - (time.monotonic() - started), 0.001)
            lookup = await self.run(server.finish_read, lookup, timeout_s=left)
        return plan, lookup


async def online_features(runner: ReadRunner, raw: bytes) -> Answer:
    """POST /get-online-features: the `feast serve` wire format in and out."""
    server = runner.server
    body = json_body(raw)
    if isinstance(body, Answer):
        return body
    try:
        parsed = feast_json.parse_request(body)
        order = [validate_ticker(t) for t in parsed.tickers]
        tickers = server.check_batch(list(dict.fromkeys(order)))
        plan, lookup = await runner.read(parsed.features, parsed.service, tickers)
        if lookup is None:
            payload = await runner.run(feast_passthrough, server, parsed)
            return Answer(200, orjson.dumps(payload), TIER_WAREHOUSE)
        return Answer(200, orjson.dumps(feast_json.render(lookup.response(), plan, parsed, order)),
                      lookup.tier)
    except Exception as error:  # mapped to 4xx for bad input, 503 for outages
        return map_error(error)


async def ticker_features(runner: ReadRunner, ticker: str, params: dict[str, str]) -> Answer:
    """GET /features/{ticker}?features=a,b | ?service=s [&as_of=ISO time]."""
    server = runner.server
    features = [f.strip() for f in params.get("features", "").split(",") if f.strip()] or None
    service = params.get("service") or None
    as_of = params.get("as_of")
    tier = None
    try:
        if service and features:
            raise BadRequest("give 'features' or 'service', not both")
        if as_of:
            stamp = checked_as_of(as_of)
            response = await runner.run(server.get_features, [ticker], features, service, stamp)
            tier = TIER_WAREHOUSE
        else:
            names = server.validate([ticker])
            _, lookup = await runner.read(features, service, names)
            if lookup is None:
                raise BadRequest("on-demand features need request data: use POST /get-online-features")
            response, tier = lookup.response(), lookup.tier
    except Exception as error:
        return map_error(error)
    item = response.to_dict()["tickers"][0]
    if item["status"] == UNKNOWN:
        metrics.ERRORS.labels("unknown_ticker").inc()
        known = f"known as of {as_of}" if as_of else "in the online store, the warehouse or stored prices"
        return Answer(404, orjson.dumps({"error": "unknown_ticker", **item,
                                         "detail": f"no features for ticker {item['ticker']!r} {known}"}),
                      tier)
    return Answer(200, orjson.dumps(item), tier)


def resolve_and_read(server: FeatureServer, features, service, tickers: list[str]):
    """(plan, lookup) in one thread hop; lookup None for on-demand views (Feast's job).

    Resolving runs here, not on the loop: a request shape seen for the first time asks
    Feast's registry, which may go to PostgreSQL (SQL registry)."""
    plan = server.plans.resolve(features, service)
    if plan.passthrough:
        return plan, None
    return plan, server.read(plan, tickers)


def feast_passthrough(server: FeatureServer, parsed: feast_json.OnlineRequest) -> dict:
    """On-demand views need request data (e.g. target_annual_vol): Feast computes them.

    Feast reports an on-demand output computed from missing inputs as PRESENT with a null
    value; a ticker none of whose values exist is reported NOT_FOUND here, as for plain views.
    """
    from feast.feature_server_utils import convert_response_to_dict

    refs = parsed.features or []
    if len(set(refs)) != len(refs):
        repeated = sorted({r for r in refs if refs.count(r) > 1})
        raise BadRequest(f"feature references repeated in 'features': {', '.join(repeated)}")
    store = server.store
    features = store.get_feature_service(parsed.service) if parsed.service else parsed.features
    entities = dict(parsed.body["entities"])
    entities["ticker"] = [validate_ticker(t) for t in entities["ticker"]]
    for name, values in entities.items():
        if not isinstance(values, list) or len(values) != len(entities["ticker"]):
            raise BadRequest(f"'entities.{name}' must be a list with one value per ticker")
    response = store.get_online_features(
        features=features, entity_rows=entities, full_feature_names=parsed.full_feature_names)
    payload = convert_response_to_dict(response.proto)
    columns = payload["results"][1:]
    for row in range(len(entities["ticker"])):
        if columns and all(column["values"][row] is None for column in columns):
            for column in columns:
                column["statuses"][row] = "NOT_FOUND"
    return payload
