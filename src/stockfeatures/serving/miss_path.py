"""The miss path of FeatureServer: settled markers, the one fill per ticker, lock waits.

Kept apart from the entry point and hot path in server.py so each reads on its own; the
methods here run on a FeatureServer (MissPath is its base) and use its reader, locks,
lazy compute, plans, options and warehouse-backed answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import redis

from stockfeatures import metrics
from stockfeatures.serving.freshness import SessionWindow
from stockfeatures.serving.online_reader import OnlineRows
from stockfeatures.serving.plan import ReadPlan
from stockfeatures.serving.push_fed import pulled_fresh, pulled_present, settle_push_views
from stockfeatures.serving.response import (
    FRESH,
    ONLINE,
    STALE,
    UNKNOWN,
    FeatureResponse,
    TickerFeatures,
)

if TYPE_CHECKING:
    from stockfeatures.serving.degraded import WarehouseGuard
    from stockfeatures.serving.lazy_compute import LazyCompute
    from stockfeatures.serving.locks import FillLocks
    from stockfeatures.serving.online_reader import OnlineReader
    from stockfeatures.serving.options import ServingOptions
    from stockfeatures.serving.plan import PlanResolver
    from stockfeatures.serving.recheck import Rechecks

# How long a worker trusts a "checked this session" marker it read, before asking Redis again.
MARKER_MEMO_S = 1.0

# Outcomes this worker keeps, past their markers' expiry too (MissPath._settled).
_MAX_SETTLED = 100_000

# Which tier answered a request (the x-stockfeatures-tier header): the online store, this
# worker's latest-rows cache, or the warehouse itself (a cache fill, a lazy fill).
TIER_ONLINE, TIER_CACHE, TIER_WAREHOUSE = "online", "cache", "warehouse"

# What "Redis is unavailable" looks like, on one server or a cluster. A cluster adds the
# errors of a failover in progress: CLUSTERDOWN / MASTERDOWN while a replica is promoted,
# slots with no reachable node, TRYAGAIN during a slot migration. A CROSSSLOT error is
# not here: it is a bug in a key layout, not an outage to serve around.
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OSError,
                redis.exceptions.ClusterError, redis.exceptions.SlotNotCoveredError,
                redis.exceptions.TryAgainError)


@dataclass
class Lookup:
    """A request between the online read and the miss path (the HTTP layer runs the miss
    path in a thread so the event loop only ever does the sub-millisecond part).

    fresh_from: per view of a plan with push-fed views, the oldest event time served as
    fresh (the session close for daily views, the intraday rule for push-fed ones); empty
    for daily-only plans, which compare with window.expected_close_s. missed: tickers the
    miss path answered, whose push-fed values settle_push_views lays over its answer.
    """

    plan: ReadPlan
    tickers: list[str]
    window: SessionWindow
    now_s: float
    results: dict[str, TickerFeatures] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    online: OnlineRows = field(default_factory=dict)
    tier: str = TIER_ONLINE
    fresh_from: dict[str, float] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    def response(self) -> FeatureResponse:
        """The answer, with one feature-age observation for the request (its oldest value):
        one per ticker cost a metric write per ticker, most of a 500-ticker read's time."""
        if self.missed and self.plan.push_views:
            settle_push_views(self, self.missed)
            self.missed = []
        items = [self.results[t] for t in self.tickers]
        oldest = min((stamp for stamp in (item.oldest_event_time_s() for item in items)
                      if stamp is not None), default=None)
        if oldest is not None:
            metrics.FEATURE_AGE_SECONDS.observe(self.now_s - oldest)
        return FeatureResponse(self.plan.feature_names, items)


class MissPath:
    """Miss-path methods of FeatureServer (its base class; not used on its own)."""

    reader: OnlineReader
    locks: FillLocks
    lazy: LazyCompute
    plans: PlanResolver
    options: ServingOptions
    warehouse_guard: WarehouseGuard
    rechecks: Rechecks
    _marker_memo_s: float
    # (ticker, session close) -> (outcome, trusted until): every settled outcome this worker
    # saw this session; within MARKER_MEMO_S of reading it, also without asking Redis.
    _settled: dict[tuple[str, int], tuple[str, float]]

    # -- miss path --------------------------------------------------------------------------

    def serve_checked_misses(self, lookup: Lookup) -> None:
        """Serve the misses a fill already settled this session.

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
            markers = self._with_settled(lookup, markers)
            self._settle(markers, expected, self._marker_memo_s)
        self._serve_marked(lookup, markers)

    def _with_settled(self, lookup: Lookup, markers: dict[str, str]) -> dict[str, str]:
        """The markers Redis holds, plus the outcome this worker settled earlier this session
        for misses whose marker has expired since: those are answered as settled and
        re-checked in the background (serving.recheck), not in front of this request."""
        expected = lookup.window.expected_close_s
        expired = {}
        for ticker in lookup.misses:
            if ticker not in markers and (settled := self._settled.get((ticker, expected))):
                expired[ticker] = settled[0]
        if not expired:
            return markers
        self.rechecks.submit(expired, lookup.window)
        return {**markers, **expired}

    def _settle(self, markers: dict[str, str], expected_close_s: int, trusted_s: float = 0.0) -> None:
        """Remember outcomes settled this session beyond their markers' expiry, trusted without
        Redis for trusted_s (bounded: a 20,000-ticker universe fits many times over; a new
        session uses new keys)."""
        if len(self._settled) > _MAX_SETTLED:
            self._settled.clear()
        until = time.monotonic() + trusted_s if trusted_s else 0.0
        for ticker, marker in markers.items():
            self._settled[(ticker, expected_close_s)] = (marker, until)

    def serve_remembered_misses(self, lookup: Lookup) -> None:
        """serve_checked_misses from this worker's memo alone, with no Redis round trip:
        pure CPU, so the event loop runs it after an asyncio online read (a stale ticker
        asked for at a high rate is then answered without a thread hop)."""
        markers = self._remembered_markers(lookup.misses, lookup.window.expected_close_s)
        if markers:
            self._serve_marked(lookup, markers)

    def _serve_marked(self, lookup: Lookup, markers: dict[str, str]) -> None:
        if not markers:
            return
        remaining = []
        for ticker in lookup.misses:
            marker = markers.get(ticker)
            per_view = lookup.online.get(ticker)
            if marker == UNKNOWN or (marker and per_view and pulled_present(lookup, per_view)):
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
            memo = self._settled.get((ticker, expected_close_s))
            if memo is None or memo[1] <= now:
                return None
            found[ticker] = memo[0]
        return found

    def resolve_misses(self, lookup: Lookup) -> None:
        """Complete every missed ticker: marker, own fill, or wait for another caller's fill."""
        expected = lookup.window.expected_close_s
        try:
            markers = self.locks.markers(lookup.misses, expected)
            pending = [t for t in lookup.misses if t not in markers]
            tokens = self.locks.acquire(pending)
        except REDIS_ERRORS as error:
            self.redis_failed(error)
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
        elif per_view and pulled_present(lookup, per_view):
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
                self.redis_failed(error)
                owned = list(tokens)
            if not owned:
                return
            lookup.tier = TIER_WAREHOUSE
            found = self.warehouse_guard.call(f"filling {owned}", self.lazy.find, owned, expected)
            try:
                self.lazy.write_online(found.rows, self.plans.online_views())
            except REDIS_ERRORS as error:
                self.redis_failed(error)
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
                self.redis_failed(error)

    def _still_missing(self, lookup: Lookup, tickers: list[str]) -> list[str]:
        online = self.reader.read(lookup.plan, tickers)
        missing = []
        for ticker in tickers:
            per_view = online[ticker]
            lookup.online[ticker] = per_view
            if pulled_fresh(lookup, per_view):
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
                if pulled_fresh(lookup, per_view):
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
            self.redis_failed(error)
            self._serve_from_warehouse(lookup, [ticker], "fallback")
            return
        metrics.ERRORS.labels("lock_wait_timeout").inc()
        self._serve_from_warehouse(lookup, [ticker], "wait_timeout")

    def _mark(self, outcomes: dict[str, str], expected_close_s: int) -> None:
        try:
            self.locks.mark(outcomes, expected_close_s)
        except REDIS_ERRORS as error:
            self.redis_failed(error)
            return
        self._settle(outcomes, expected_close_s)

    def recheck(self, tickers: list[str], window: SessionWindow, settled: dict[str, str]) -> None:
        """A background re-check of settled misses (serving.recheck): a fill with no request
        waiting on it. Tickers another caller is filling are left to it; a newer row goes
        online; the rest are marked again with their outcome."""
        try:
            tokens = self.locks.acquire(tickers)
        except REDIS_ERRORS as error:
            self.redis_failed(error)
            return
        if not tokens:
            return
        expected = window.expected_close
        try:
            found = self.warehouse_guard.call(f"re-checking {list(tokens)}", self.lazy.find,
                                              list(tokens), expected)
            try:
                self.lazy.write_online(found.rows, self.plans.online_views())
            except REDIS_ERRORS as error:
                self.redis_failed(error)
                return
            outcomes = {}
            for ticker in tokens:
                if ticker not in found.rows.index:
                    outcomes[ticker] = settled[ticker]
                elif found.rows.at[ticker, "event_timestamp"] < expected:
                    outcomes[ticker] = STALE
                else:
                    self._settled.pop((ticker, window.expected_close_s), None)
            self._mark(outcomes, window.expected_close_s)
        finally:
            try:
                self.locks.release(tokens)
            except REDIS_ERRORS as error:
                self.redis_failed(error)
