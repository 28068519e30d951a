"""FeatureServer: the one entry point strategies and the HTTP server read features through.

Read-through over Feast's online store: a fresh value (by the trading calendar) is a hit;
a stale or missing one goes to the miss path, where exactly one caller per ticker (Redis
lock) fills it from the warehouse or stored prices and writes it back through Feast while
the others wait for that result. When Redis fails, a circuit breaker sends reads to the
degraded tier (serving.degraded: a per-worker copy of the warehouse's latest rows,
source=offline) until a probe finds Redis back; PostgreSQL has a breaker of its own.
The HTTP layer runs the reads in threads under a deadline, except start_lookup,
take_online and serve_remembered_misses (CPU only), which it calls on the event loop around
an asyncio online read for fresh hits (serving.http_reads).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import redis
from feast import FeatureStore
from redis.cluster import RedisCluster

from stockfeatures import metrics
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving.breaker import CircuitBreaker
from stockfeatures.serving.degraded import MAX_WARM_TICKERS, CachedRow, LatestRows, WarehouseGuard
from stockfeatures.serving.errors import BatchTooLarge
from stockfeatures.serving.freshness import Clock, FreshnessClock, utc_now
from stockfeatures.serving.historical import checked_as_of, historical_response
from stockfeatures.serving.intraday_freshness import IntradayFreshnessClock
from stockfeatures.serving.lazy_compute import LazyCompute
from stockfeatures.serving.locks import FillLocks
from stockfeatures.serving.miss_path import (  # noqa: F401  (MARKER_MEMO_S: public)
    MARKER_MEMO_S,
    REDIS_ERRORS,
    TIER_CACHE,
    TIER_WAREHOUSE,
    Lookup,
    MissPath,
)
from stockfeatures.serving.online_reader import (
    FeastReader,
    OnlineReader,
    OnlineRows,
    RedisReader,
    ViewValues,
)
from stockfeatures.serving.options import ServingOptions
from stockfeatures.serving.plan import PlanResolver, ReadPlan, ViewRead
from stockfeatures.serving.push_fed import all_fresh, pulled_fresh
from stockfeatures.serving.recheck import Rechecks
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

# FeatureValue sets kept for online replies (FeatureServer._online_cells): a few views of a
# 20,000-ticker universe.
_MAX_CELL_SETS = 60_000


class FeatureServer(MissPath):
    def __init__(
        self,
        store: FeatureStore,
        warehouse: Warehouse,
        redis_client: redis.Redis | RedisCluster,
        *,
        benchmark: str,
        options: ServingOptions | None = None,
        clock: Clock = utc_now,
        reader: OnlineReader | None = None,
        redis_url: str | None = None,
    ):
        """redis_url: where redis_client connects, for the event loop's own asyncio client
        (serving.async_reader); None keeps every read in the read threads."""
        self.store = store
        self.redis_url = redis_url
        self.warehouse = warehouse
        self.redis = redis_client
        self.options = options or ServingOptions()
        self.freshness = FreshnessClock(clock)
        self.intraday_freshness = IntradayFreshnessClock(clock, self.options.intraday_grace_s)
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
        self.warehouse_guard = WarehouseGuard(warehouse, self.options.breaker_cooldown_s)
        self.latest_rows = LatestRows(self.warehouse_guard, self.options.negative_ttl_s,
                                      self.options.pg_timeout_s)
        self.lazy = LazyCompute(store, warehouse, benchmark)
        self._served: dict[str, None] = {}
        self._hits = metrics.REQUESTS.labels(ONLINE, "hit")
        self._marker_memo_s = min(MARKER_MEMO_S, self.options.negative_ttl_s / 10)
        self._settled: dict[tuple[str, int], tuple[str, float]] = {}
        self.rechecks = Rechecks(self.recheck)
        self._cells: dict[int, tuple[ViewValues, dict[str, FeatureValue]]] = {}

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
            stamp = checked_as_of(as_of)
            if stamp < pd.Timestamp(self.freshness.clock()):
                return self.warehouse_guard.call(
                    "as_of read", historical_response, self.store, self.warehouse, plan, names, stamp)
        if plan.passthrough:
            raise UnknownFeature(
                "on-demand feature views need request data: use POST /get-online-features "
                "or FeatureStore.get_online_features for them"
            )
        return self.read(plan, names).response()

    def read(self, plan: ReadPlan, tickers: list[str]) -> Lookup:
        """The whole online read of validated tickers: hits, settled misses, fills, fallback."""
        return self.finish_read(self.read_online(plan, tickers))

    def finish_read(self, lookup: Lookup) -> Lookup:
        """Everything after the online read: settled misses, then fills or the warehouse."""
        if lookup.misses:
            self.serve_checked_misses(lookup)
            if lookup.misses:
                self.resolve_misses(lookup)
        return lookup

    def prime(self, timeout_s: float = 10.0) -> None:
        """Touch every stage of the read path once before the worker reports ready.

        A new worker's first read imports and first-runs the compute path, opens its first
        PostgreSQL and Redis connections and builds the session windows: measured at 1.4 s
        on a fresh machine, past the 1 s read deadline, so the first client got a 503.
        Each stage runs here on the benchmark ticker instead, without counting a request
        or an upstream call: the online read, the warehouse's latest row, a recompute from
        stored prices, and Feast's online write of the warehouse row (idempotent: Feast keeps
        the newer of two rows). A store that is down only logs a line: the server still
        starts and the breakers handle the outage; a frozen one is waited on for at most
        timeout_s (the priming thread is a daemon and is left behind).
        """
        if not self.lazy.benchmark:
            return
        started = time.perf_counter()
        thread = threading.Thread(target=self._prime, args=(self.lazy.benchmark,),
                                  name="prime", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("priming the read path took over %g s; serving starts anyway", timeout_s)
        else:
            log.info("read path primed in %.2f s", time.perf_counter() - started)

    def _prime(self, ticker: str) -> None:
        try:
            window = self.freshness.window(self.freshness.clock())
            plan = self.plans.resolve()
            self.reader.read(plan, [ticker])
            rows = self.warehouse.latest_features([ticker])
            self.lazy.compute_from_prices([ticker], window.expected_close)
            self.lazy.write_online(rows, self.plans.online_views())
        except Exception as error:  # a down store must not keep the worker from starting
            log.warning("priming the read path failed (%s: %s); serving starts anyway",
                        type(error).__name__, error)

    def validate(self, tickers: str | Sequence[str]) -> list[str]:
        return self.check_batch(validate_tickers(tickers))

    def check_batch(self, names: list[str]) -> list[str]:
        """Already validated, normalized, distinct tickers, refused when none or too many
        (the HTTP layer validates each ticker once, keeping repeats for the answer's rows)."""
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
        lookup = self.start_lookup(plan, tickers)
        if not self.breaker.allows():
            self._serve_from_warehouse(lookup, tickers, "fallback")
            return lookup
        try:
            online = self.reader.read(plan, tickers)
        except REDIS_ERRORS as error:
            self.redis_failed(error)
            self._serve_from_warehouse(lookup, tickers, "fallback")
            return lookup
        self.take_online(lookup, online)
        return lookup

    def start_lookup(self, plan: ReadPlan, tickers: list[str]) -> Lookup:
        now = self.freshness.clock()
        window, now_s = self.freshness.window(now), now.timestamp()
        lookup = Lookup(plan, tickers, window, now_s)
        if plan.push_views:
            pushed_from = self.intraday_freshness.fresh_from_s(now_s)
            lookup.fresh_from = {view.name: pushed_from if view.name in plan.push_views
                                 else window.expected_close_s for view in plan.views}
        return lookup

    def take_online(self, lookup: Lookup, online: OnlineRows) -> None:
        """Sort what the online read returned into fresh hits and misses (CPU only: the
        event loop may run it after an asyncio read)."""
        self.breaker.record_success()
        if lookup.plan.push_views:
            hits = self._take_with_push_views(lookup, online)
        else:
            expected = lookup.window.expected_close_s
            hits = 0
            for ticker in lookup.tickers:
                per_view = online[ticker]
                if all(stamp is not None and stamp >= expected for stamp, _ in per_view.values()):
                    lookup.results[ticker] = self._from_online(ticker, FRESH, lookup.plan, per_view, lookup.now_s)
                    hits += 1
                else:
                    lookup.misses.append(ticker)
        if hits:
            self._hits.inc(hits)
            if len(self._served) < MAX_WARM_TICKERS:
                self._served.update(dict.fromkeys(t for t in lookup.tickers if t in lookup.results))
        lookup.online = online

    def _take_with_push_views(self, lookup: Lookup, online: OnlineRows) -> int:
        """take_online for a plan with push-fed views: each view by its own freshness rule.

        A ticker whose other views are fresh is answered here whatever its push-fed values
        are (stale, or unknown when it has no value at all): nothing but a push can make
        them newer. Only a stale or missing daily view sends the ticker to the miss path.
        """
        hits = 0
        for ticker in lookup.tickers:
            per_view = online[ticker]
            if all_fresh(lookup, per_view):
                lookup.results[ticker] = self._from_online(ticker, FRESH, lookup.plan, per_view, lookup.now_s)
                hits += 1
            elif pulled_fresh(lookup, per_view):
                if all(stamp is None for stamp, _ in per_view.values()):
                    lookup.results[ticker] = self._unknown(lookup, ticker)
                else:
                    metrics.REQUESTS.labels(ONLINE, STALE).inc()
                    lookup.results[ticker] = self._from_online(ticker, STALE, lookup.plan, per_view, lookup.now_s)
            else:
                lookup.misses.append(ticker)
        lookup.missed.extend(lookup.misses)
        return hits

    def _from_online(self, ticker, status, plan, per_view, now_s) -> TickerFeatures:
        cells = {view.name: self._online_cells(view, per_view[view.name]) for view in plan.views}
        return TickerFeatures(ticker, status, {feature: cells[view][feature] for view, feature in plan.columns})

    def _online_cells(self, view: ViewRead, view_values: ViewValues) -> dict[str, FeatureValue]:
        """A view's FeatureValues for an online read, built once per decoded reply.

        decode_replies shares one (stamp, values) per distinct reply, so the frozen
        FeatureValues built from it are shared too: a 500-ticker hit built 7,000 of them per
        request. Keyed by the reply's identity; the entry holds it, so its id is not reused.
        """
        entry = self._cells.get(id(view_values))
        if entry is None or entry[0] is not view_values:
            stamp, values = view_values
            entry = (view_values, {feature: FeatureValue(values.get(feature), stamp, ONLINE)
                                   for feature in view.features})
            if len(self._cells) >= _MAX_CELL_SETS:
                self._cells.clear()
            self._cells[id(view_values)] = entry
        return entry[1]

    # -- warehouse-backed answers -----------------------------------------------------------

    def _serve_from_warehouse(self, lookup: Lookup, tickers: list[str], outcome: str) -> None:
        """The degraded tier: latest rows from this worker's cache, filled in one batch."""
        found, missing = self.latest_rows.get(tickers, lookup.now_s)
        tier = TIER_CACHE
        if missing:
            # During an outage, warm every ticker this worker served in the same query.
            also = list(self._served) if outcome == "fallback" else ()
            found = {**found, **self.latest_rows.fill(missing, lookup.window, lookup.now_s, also)}
            tier = TIER_WAREHOUSE
        if lookup.tier != TIER_WAREHOUSE:
            lookup.tier = tier
        served = 0
        if lookup.plan.push_views:
            lookup.missed.extend(tickers)
        for ticker in tickers:
            row = found.get(ticker)
            if row is None or row.values is None:
                lookup.results[ticker] = self._unknown(lookup, ticker)
                continue
            served += 1
            lookup.results[ticker] = self._from_cached(lookup, ticker, row)
        if served:
            metrics.REQUESTS.labels(OFFLINE, outcome).inc(served)

    def _from_cached(self, lookup: Lookup, ticker: str, row: CachedRow) -> TickerFeatures:
        stamp = row.event_time_s
        values = {feature: FeatureValue(row.values.get(feature), stamp, OFFLINE)
                  for _, feature in lookup.plan.columns}
        status = FRESH if stamp >= lookup.window.expected_close_s else STALE
        return TickerFeatures(ticker, status, values)

    def _from_row(self, lookup: Lookup, row: pd.Series, source: str) -> TickerFeatures:
        stamp = pd.Timestamp(row["event_timestamp"]).timestamp()
        values = {}
        for _, feature in lookup.plan.columns:
            value = row.get(feature)
            values[feature] = FeatureValue(None if value is None else float(value), stamp, source)
        status = FRESH if stamp >= lookup.window.expected_close_s else STALE
        return TickerFeatures(str(row["ticker"]), status, values)

    def _unknown(self, lookup: Lookup, ticker: str) -> TickerFeatures:
        metrics.REQUESTS.labels("none", UNKNOWN).inc()
        empty = FeatureValue(None, None, None)
        return TickerFeatures(ticker, UNKNOWN, {feature: empty for _, feature in lookup.plan.columns})

    def redis_failed(self, error: BaseException) -> None:
        metrics.ERRORS.labels("redis_unavailable").inc()
        if not self.breaker.is_open:
            log.warning("Redis unavailable, serving from the warehouse: %s", error)
        self.breaker.record_failure()
