"""FeatureServer: the one entry point strategies and the HTTP server read features through.

Read-through over Feast's online store: a fresh value (by the trading calendar) is a hit;
a stale or missing one goes to the miss path, where exactly one caller per ticker (Redis
lock) fills it from the warehouse or stored prices and writes it back through Feast while
the others wait for that result. When Redis fails, a circuit breaker sends reads to the
warehouse's latest rows (source=offline) until a probe finds Redis back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import redis
from feast import FeatureStore

from stockfeatures import metrics
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving.breaker import CircuitBreaker
from stockfeatures.serving.errors import BatchTooLarge, ServingUnavailable
from stockfeatures.serving.freshness import Clock, FreshnessClock, SessionWindow, utc_now
from stockfeatures.serving.historical import historical_response
from stockfeatures.serving.lazy_compute import LazyCompute
from stockfeatures.serving.locks import FillLocks
from stockfeatures.serving.online_reader import FeastReader, OnlineReader, OnlineRows, RedisReader
from stockfeatures.serving.options import ServingOptions
from stockfeatures.serving.plan import PlanResolver, ReadPlan
from stockfeatures.serving.response import (
    FRESH,
    OFFLINE,
    ONLINE,
    STALE,
    UNKNOWN,
    FeatureResponse,
    FeatureValue,
    TickerFeatures,
)
from stockfeatures.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

# How long a worker trusts a "checked this session" marker it read, before asking Redis again.
MARKER_MEMO_S = 1.0

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OSError)


@dataclass
class Lookup:
    """A request between the online read and the miss path (the HTTP layer runs the miss
    path in a thread so the event loop only ever does the sub-millisecond part)."""

    plan: ReadPlan
    tickers: list[str]
    window: SessionWindow
    now_s: float
    results: dict[str, TickerFeatures] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    online: OnlineRows = field(default_factory=dict)

    def response(self) -> FeatureResponse:
        return FeatureResponse(self.plan.feature_names, [self.results[t] for t in self.tickers])


class FeatureServer:
    def __init__(
        self,
        store: FeatureStore,
        warehouse: Warehouse,
        redis_client: redis.Redis,
        *,
        benchmark: str,
        options: ServingOptions | None = None,
        clock: Clock = utc_now,
        reader: OnlineReader | None = None,
    ):
        self.store = store
        self.warehouse = warehouse
        self.redis = redis_client
        self.options = options or ServingOptions()
        self.freshness = FreshnessClock(clock)
        self.plans = PlanResolver(store, self.options.registry_refresh_s)
        if reader is None:
            if store.config.online_store.type == "redis":
                reader = RedisReader(redis_client, store.project,
                                     store.config.entity_key_serialization_version)
            else:
                reader = FeastReader(store)
        self.reader = reader
        self.locks = FillLocks(redis_client, store.project, self.options.lock_ttl_ms,
                               self.options.negative_ttl_s)
        self.breaker = CircuitBreaker(self.options.breaker_cooldown_s)
        self.lazy = LazyCompute(store, warehouse, benchmark)
        self._hits = metrics.REQUESTS.labels(ONLINE, "hit")
        self._marker_memo: dict[tuple[str, int], tuple[str, float]] = {}
        self._marker_memo_s = min(MARKER_MEMO_S, self.options.negative_ttl_s / 10)

    # -- entry point ------------------------------------------------------------------------

    def get_features(
        self,
        tickers: str | Sequence[str],
        features: Sequence[str] | None = None,
        service: str | None = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> FeatureResponse:
        """Features for `tickers` (a list of names, or a service; default every feature).

        as_of in the past reads point-in-time from the offline store, as known at as_of.
        Raises InvalidTicker, UnknownFeature, BatchTooLarge for bad input and
        ServingUnavailable only when both Redis and the warehouse are down.
        """
        names = self.validate(tickers)
        plan = self.plans.resolve(features, service)
        if as_of is not None:
            stamp = pd.Timestamp(as_of)
            if stamp.tzinfo is None:
                raise ValueError(f"as_of {as_of!r} has no timezone; pass a UTC-aware timestamp")
            if stamp < pd.Timestamp(self.freshness.clock()):
                return historical_response(self.store, self.warehouse, plan, names,
                                           stamp.tz_convert("UTC"))
        if plan.passthrough:
            raise UnknownFeature(
                "on-demand feature views need request data: use POST /get-online-features "
                "or FeatureStore.get_online_features for them"
            )
        lookup = self.read_online(plan, names)
        if lookup.misses:
            self.resolve_misses(lookup)
        return lookup.response()

    def validate(self, tickers: str | Sequence[str]) -> list[str]:
        names = validate_tickers(tickers)
        if not names:
            raise BatchTooLarge("no tickers given: ask for at least one")
        if len(names) > self.options.max_batch:
            raise BatchTooLarge(
                f"{len(names)} tickers in one request; the maximum is {self.options.max_batch} "
                "(STOCKFEATURES_SERVING_MAX_BATCH): split the batch"
            )
        return names

    # -- hot path ---------------------------------------------------------------------------

    def read_online(self, plan: ReadPlan, tickers: list[str]) -> Lookup:
        now = self.freshness.clock()
        lookup = Lookup(plan, tickers, self.freshness.window(now), now.timestamp())
        if not self.breaker.allows():
            self._serve_from_warehouse(lookup, tickers, "fallback")
            return lookup
        try:
            online = self.reader.read(plan, tickers)
        except REDIS_ERRORS as error:
            self._redis_failed(error)
            self._serve_from_warehouse(lookup, tickers, "fallback")
            return lookup
        self.breaker.record_success()
        expected = lookup.window.expected_close_s
        hits = 0
        for ticker in tickers:
            per_view = online[ticker]
            if all(stamp is not None and stamp >= expected for stamp, _ in per_view.values()):
                lookup.results[ticker] = self._from_online(ticker, FRESH, plan, per_view, lookup.now_s)
                hits += 1
            else:
                lookup.misses.append(ticker)
        if hits:
            self._hits.inc(hits)
        lookup.online = online
        return lookup

    def _from_online(self, ticker, status, plan, per_view, now_s) -> TickerFeatures:
        values = {}
        oldest = None
        for view, feature in plan.columns:
            stamp, view_values = per_view[view]
            values[feature] = FeatureValue(view_values.get(feature), stamp, ONLINE)
            if stamp is not None and (oldest is None or stamp < oldest):
                oldest = stamp
        if oldest is not None:
            metrics.FEATURE_AGE_SECONDS.observe(now_s - oldest)
        return TickerFeatures(ticker, status, values)

    # -- miss path --------------------------------------------------------------------------

    def serve_checked_misses(self, lookup: Lookup) -> None:
        """Serve, without a thread, the misses a fill already settled this session.

        One Redis round trip (the markers): a ticker marked unknown, or marked stale with
        every view online, is answered from what the read already holds. Those left in
        lookup.misses need resolve_misses (a fill, a lock wait or the warehouse). On a
        Redis error nothing is served here: resolve_misses handles the outage.
        """
        expected = lookup.window.expected_close_s
        markers = self._remembered_markers(lookup.misses, expected)
        if markers is None:
            try:
                markers = self.locks.markers(lookup.misses, expected)
            except REDIS_ERRORS:
                return
            self._remember_markers(lookup.misses, markers, expected)
        if not markers:
            return
        remaining = []
        for ticker in lookup.misses:
            marker = markers.get(ticker)
            per_view = lookup.online.get(ticker)
            if marker == UNKNOWN or (
                marker and per_view and all(stamp is not None for stamp, _ in per_view.values())
            ):
                self._serve_checked(lookup, ticker, marker)
            else:
                remaining.append(ticker)
        lookup.misses = remaining

    def _remembered_markers(self, tickers: list[str], expected_close_s: int) -> dict[str, str] | None:
        """Markers this worker read less than MARKER_MEMO_S ago, or None to ask Redis.

        A stale ticker asked for at a high rate would otherwise cost one extra Redis round
        trip per request. Remembering a marker briefly only extends "nothing newer this
        session" (never shortcuts a fresh online value, which is read first) by at most
        MARKER_MEMO_S; absent markers are not remembered, so a fill is never delayed.
        """
        now = time.monotonic()
        found = {}
        for ticker in tickers:
            memo = self._marker_memo.get((ticker, expected_close_s))
            if memo is None or memo[1] <= now:
                return None
            found[ticker] = memo[0]
        return found

    def _remember_markers(self, tickers: list[str], markers: dict[str, str], expected_close_s: int) -> None:
        if len(self._marker_memo) > 10_000:
            self._marker_memo.clear()
        until = time.monotonic() + self._marker_memo_s
        for ticker, marker in markers.items():
            self._marker_memo[(ticker, expected_close_s)] = (marker, until)

    def resolve_misses(self, lookup: Lookup) -> None:
        """Complete every missed ticker: marker, own fill, or wait for another caller's fill."""
        expected = lookup.window.expected_close_s
        try:
            markers = self.locks.markers(lookup.misses, expected)
            pending = [t for t in lookup.misses if t not in markers]
            tokens = self.locks.acquire(pending)
        except REDIS_ERRORS as error:
            self._redis_failed(error)
            self._serve_from_warehouse(lookup, lookup.misses, "fallback")
            return
        for ticker, marker in markers.items():
            self._serve_checked(lookup, ticker, marker)
        if tokens:
            self._fill(lookup, tokens)
        for ticker in pending:
            if ticker not in tokens:
                self._wait_for_fill(lookup, ticker)

    def _serve_checked(self, lookup: Lookup, ticker: str, marker: str) -> None:
        """A fill already ran this session and found nothing newer: serve what is there."""
        per_view = lookup.online.get(ticker, {})
        if marker == UNKNOWN:
            lookup.results[ticker] = self._unknown(lookup, ticker)
        elif per_view and all(stamp is not None for stamp, _ in per_view.values()):
            metrics.REQUESTS.labels(ONLINE, STALE).inc()
            lookup.results[ticker] = self._from_online(ticker, STALE, lookup.plan, per_view, lookup.now_s)
        else:
            self._serve_from_warehouse(lookup, [ticker], STALE)

    def _fill(self, lookup: Lookup, tokens: dict[str, str]) -> None:
        expected = lookup.window.expected_close
        try:
            # Double-checked: a fill that finished between our read and our lock already
            # wrote the value; computing it again would break "one computation per miss".
            try:
                owned = self._still_missing(lookup, list(tokens))
            except REDIS_ERRORS as error:
                self._redis_failed(error)
                owned = list(tokens)
            if not owned:
                return
            try:
                found = self.lazy.find(owned, expected)
            except Exception as error:
                metrics.ERRORS.labels("warehouse_unavailable").inc()
                raise ServingUnavailable(f"cannot fill {owned}: warehouse read failed: {error}") from error
            try:
                self.lazy.write_online(found.rows, self.plans.online_views())
            except REDIS_ERRORS as error:
                self._redis_failed(error)
            outcomes = {}
            for ticker in owned:
                if ticker not in found.rows.index:
                    has_online = self._online_time(lookup, ticker) is not None
                    outcomes[ticker] = STALE if has_online else UNKNOWN
                elif found.rows.at[ticker, "event_timestamp"] < expected:
                    outcomes[ticker] = STALE
            self._mark(outcomes, lookup.window.expected_close_s)
            for ticker in owned:
                if ticker not in found.rows.index or self._online_is_newer(lookup, ticker, found):
                    self._serve_checked(lookup, ticker, outcomes.get(ticker, STALE))
                    continue
                item = self._from_row(lookup, found.rows.loc[ticker], found.origin[ticker])
                outcome = "filled" if item.status == FRESH else STALE
                metrics.REQUESTS.labels(found.origin[ticker], outcome).inc()
                lookup.results[ticker] = item
        finally:
            try:
                self.locks.release(tokens)
            except REDIS_ERRORS as error:
                self._redis_failed(error)

    def _still_missing(self, lookup: Lookup, tickers: list[str]) -> list[str]:
        expected = lookup.window.expected_close_s
        online = self.reader.read(lookup.plan, tickers)
        missing = []
        for ticker in tickers:
            per_view = online[ticker]
            lookup.online[ticker] = per_view
            if all(s is not None and s >= expected for s, _ in per_view.values()):
                metrics.REQUESTS.labels(ONLINE, "filled").inc()
                lookup.results[ticker] = self._from_online(ticker, FRESH, lookup.plan, per_view, lookup.now_s)
            else:
                missing.append(ticker)
        return missing

    @staticmethod
    def _online_time(lookup: Lookup, ticker: str) -> float | None:
        """Oldest event time among the ticker's online views, None if any view is empty."""
        per_view = lookup.online.get(ticker) or {}
        stamps = [stamp for stamp, _ in per_view.values()]
        if not stamps or any(stamp is None for stamp in stamps):
            return None
        return min(stamps)

    def _online_is_newer(self, lookup: Lookup, ticker: str, found) -> bool:
        online = self._online_time(lookup, ticker)
        row_time = pd.Timestamp(found.rows.at[ticker, "event_timestamp"]).timestamp()
        return online is not None and online > row_time

    def _wait_for_fill(self, lookup: Lookup, ticker: str) -> None:
        """Another caller holds the fill lock: poll the online store for its result.

        Bounded by wait_timeout_s; if the holder died its lock expires and this caller takes
        over the fill, so a lost holder delays readers by at most the lock ttl.
        """
        plan, expected = lookup.plan, lookup.window.expected_close_s
        deadline = time.monotonic() + self.options.wait_timeout_s
        delay = 0.001
        try:
            while time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
                per_view = self.reader.read(plan, [ticker])[ticker]
                if all(s is not None and s >= expected for s, _ in per_view.values()):
                    metrics.REQUESTS.labels(ONLINE, "filled").inc()
                    lookup.results[ticker] = self._from_online(ticker, FRESH, plan, per_view, lookup.now_s)
                    return
                marker = self.locks.markers([ticker], expected).get(ticker)
                if marker:
                    lookup.online[ticker] = per_view
                    self._serve_checked(lookup, ticker, marker)
                    return
                if not self.locks.held(ticker):
                    tokens = self.locks.acquire([ticker])
                    if tokens:
                        self._fill(lookup, tokens)
                        return
        except REDIS_ERRORS as error:
            self._redis_failed(error)
            self._serve_from_warehouse(lookup, [ticker], "fallback")
            return
        metrics.ERRORS.labels("lock_wait_timeout").inc()
        self._serve_from_warehouse(lookup, [ticker], "wait_timeout")

    def _mark(self, outcomes: dict[str, str], expected_close_s: int) -> None:
        try:
            self.locks.mark(outcomes, expected_close_s)
        except REDIS_ERRORS as error:
            self._redis_failed(error)

    # -- warehouse-backed answers -----------------------------------------------------------

    def _serve_from_warehouse(self, lookup: Lookup, tickers: list[str], outcome: str) -> None:
        metrics.UPSTREAM_CALLS.labels("warehouse").inc()
        try:
            rows = self.warehouse.latest_features(tickers)
        except Exception as error:
            metrics.ERRORS.labels("warehouse_unavailable").inc()
            raise ServingUnavailable(
                f"online store unavailable and warehouse read failed: {error}"
            ) from error
        rows = rows.drop_duplicates("ticker", keep="last").set_index("ticker", drop=False)
        for ticker in tickers:
            if ticker not in rows.index:
                lookup.results[ticker] = self._unknown(lookup, ticker)
                continue
            metrics.REQUESTS.labels(OFFLINE, outcome).inc()
            lookup.results[ticker] = self._from_row(lookup, rows.loc[ticker], OFFLINE)

    def _from_row(self, lookup: Lookup, row: pd.Series, source: str) -> TickerFeatures:
        stamp = pd.Timestamp(row["event_timestamp"]).timestamp()
        values = {}
        for _, feature in lookup.plan.columns:
            value = row.get(feature)
            values[feature] = FeatureValue(None if value is None else float(value), stamp, source)
        metrics.FEATURE_AGE_SECONDS.observe(lookup.now_s - stamp)
        status = FRESH if stamp >= lookup.window.expected_close_s else STALE
        return TickerFeatures(str(row["ticker"]), status, values)

    def _unknown(self, lookup: Lookup, ticker: str) -> TickerFeatures:
        metrics.REQUESTS.labels("none", UNKNOWN).inc()
        empty = FeatureValue(None, None, None)
        return TickerFeatures(ticker, UNKNOWN, {feature: empty for _, feature in lookup.plan.columns})

    def _redis_failed(self, error: BaseException) -> None:
        metrics.ERRORS.labels("redis_unavailable").inc()
        if not self.breaker.is_open:
            log.warning("Redis unavailable, serving from the warehouse: %s", error)
        self.breaker.record_failure()
