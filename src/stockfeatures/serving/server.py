"""FeatureServer: the one entry point strategies and the HTTP server read features through.

Read-through over Feast's online store: a fresh value (by the trading calendar) is a hit;
a stale or missing one goes to the miss path, where exactly one caller per ticker (Redis
lock) fills it from the warehouse or stored prices and writes it back through Feast while
the others wait for that result. When Redis fails, a circuit breaker sends reads to the
warehouse's latest rows (source=offline) until a probe finds Redis back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import redis
from feast import FeatureStore

from stockfeatures import metrics
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving.breaker import CircuitBreaker
from stockfeatures.serving.errors import BatchTooLarge, ServingUnavailable
from stockfeatures.serving.freshness import Clock, FreshnessClock, utc_now
from stockfeatures.serving.historical import historical_response
from stockfeatures.serving.lazy_compute import LazyCompute
from stockfeatures.serving.locks import FillLocks
from stockfeatures.serving.miss_path import (  # noqa: F401  (MARKER_MEMO_S: public)
    MARKER_MEMO_S,
    REDIS_ERRORS,
    Lookup,
    MissPath,
)
from stockfeatures.serving.online_reader import FeastReader, OnlineReader, RedisReader
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


class FeatureServer(MissPath):
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
