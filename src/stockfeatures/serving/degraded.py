"""What a request meets when a store fails: PostgreSQL's breaker and the latest-rows cache.

WarehouseGuard puts every serving read of the warehouse behind a circuit breaker (the twin
of Redis's): after a failure, reads skip PostgreSQL for a cooldown and answer 503 at once
instead of each waiting on a dead or frozen server. A pooled connection that a PostgreSQL
restart broke fails on first use with OperationalError; that call is retried once on a new
connection, so a restart never surfaces as a 500.

LatestRows is the degraded tier: while Redis is down, reads come from a per-worker copy of
each ticker's latest warehouse row, filled in batches (one query for a request's missing
tickers plus every ticker this worker has served), valid until the next session close
(daily values change once a day). At 500 rps that is a dict lookup per ticker instead of a
PostgreSQL query per request. Values are the warehouse's floats, which are also what the
online store was written from, so both tiers answer the same numbers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import psycopg
from psycopg_pool import PoolTimeout

from stockfeatures import metrics
from stockfeatures.serving.breaker import CircuitBreaker
from stockfeatures.serving.errors import ServingUnavailable
from stockfeatures.serving.freshness import SessionWindow

log = logging.getLogger(__name__)

T = TypeVar("T")

PG_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, OSError)

# Most tickers one warm fill asks for (the universe is a few hundred to a few thousand).
MAX_WARM_TICKERS = 5000


def _broken_connection(error: BaseException) -> bool:
    """A connection the pool handed out that turned out dead (server restarted), as opposed
    to no connection at all (PoolTimeout: the server is down), which a retry cannot fix."""
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(
        error, PoolTimeout)


class WarehouseGuard:
    """Every serving read of the warehouse: breaker, one retry on a broken connection."""

    def __init__(self, warehouse, cooldown_s: float):
        self.warehouse = warehouse
        self.breaker = CircuitBreaker(cooldown_s)
        self._in_flight: dict[int, float] = {}
        self._lock = threading.Lock()
        self._next_id = 0

    def refuse_if_open(self, what: str) -> None:
        """ServingUnavailable at once while the breaker keeps PostgreSQL out (cooling down,
        or its one probe under way), before the caller waits on anything."""
        if not self.breaker.would_allow():
            self._refuse(what)

    def _refuse(self, what: str) -> None:
        metrics.ERRORS.labels("warehouse_unavailable").inc()
        raise ServingUnavailable(
            f"PostgreSQL is unavailable (its circuit breaker is open after a failure); {what} "
            f"not attempted, retry in {self.breaker.cooldown_s:g} s")

    def call(self, what: str, function: Callable[..., T], *args, **kwargs) -> T:
        """Run function(*args, **kwargs) against the warehouse, or raise ServingUnavailable."""
        with self._lock:
            stuck = bool(self._in_flight)
        # While a call is still hanging (a frozen server), probes would only pile up threads.
        if (stuck and self.breaker.is_open) or not self.breaker.allows():
            self._refuse(what)
        for attempt in (1, 2):
            call_id = self._enter()
            try:
                result = function(*args, **kwargs)
            except PG_ERRORS as error:
                if attempt == 1 and _broken_connection(error):
                    log.info("warehouse connection broken (%s); retrying once", error)
                    continue
                self._failed(error)
                raise ServingUnavailable(f"PostgreSQL is unavailable; {what} failed: {error}") from error
            finally:
                self._leave(call_id)
            self.breaker.record_success()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def trip_if_stuck(self, older_than_s: float) -> bool:
        """Open the breaker when a call has hung longer than older_than_s (a frozen server
        holds a socket read forever; no exception would ever trip the breaker)."""
        now = time.monotonic()
        with self._lock:
            stuck = any(now - started > older_than_s for started in self._in_flight.values())
        if stuck and not self.breaker.is_open:
            metrics.ERRORS.labels("warehouse_unavailable").inc()
            log.warning("PostgreSQL read hung for more than %.2f s: circuit breaker opened", older_than_s)
            self.breaker.record_failure()
        return stuck

    def _enter(self) -> int:
        with self._lock:
            self._next_id += 1
            self._in_flight[self._next_id] = time.monotonic()
            return self._next_id

    def _leave(self, call_id: int) -> None:
        with self._lock:
            self._in_flight.pop(call_id, None)

    def _failed(self, error: BaseException) -> None:
        metrics.ERRORS.labels("warehouse_unavailable").inc()
        if not self.breaker.is_open:
            log.warning("PostgreSQL unavailable: %s", error)
        self.breaker.record_failure()
        if isinstance(error, PoolTimeout):
            # A fresh pool connects at once when the server is back; the old one would wait
            # out psycopg_pool's exponential reconnect backoff (seconds to minutes).
            close = getattr(self.warehouse, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True, slots=True)
class CachedRow:
    """A ticker's latest warehouse row (None: the warehouse knows no such ticker)."""

    values: dict[str, float | None] | None
    event_time_s: float | None
    valid_until_wall_s: float
    valid_until_mono: float


class LatestRows:
    """Per-worker latest rows for the degraded tier (see module doc)."""

    def __init__(self, guard: WarehouseGuard, recheck_s: float, lock_wait_s: float = 0.5):
        self.guard = guard
        self.recheck_s = recheck_s
        self.lock_wait_s = lock_wait_s
        self._rows: dict[str, CachedRow] = {}
        self._fill_lock = threading.Lock()

    def get(self, tickers: Sequence[str], now_s: float) -> tuple[dict[str, CachedRow], list[str]]:
        """(rows still valid at now_s, tickers to fill)."""
        mono = time.monotonic()
        found, missing = {}, []
        for ticker in tickers:
            row = self._rows.get(ticker)
            if row is not None and now_s < row.valid_until_wall_s and mono < row.valid_until_mono:
                found[ticker] = row
            else:
                missing.append(ticker)
        return found, missing

    def fill(self, tickers: Sequence[str], window: SessionWindow, now_s: float,
             also: Iterable[str] = ()) -> dict[str, CachedRow]:
        """Read `tickers` (and, in the same query, `also`: tickers worth warming) once.

        One fill runs at a time per worker; a caller that waited re-checks the cache first,
        so a burst of requests for the same missing tickers costs one query.
        """
        self.guard.refuse_if_open("a latest-rows fill")
        # A fill hung on a frozen server holds the lock: wait for it no longer than the
        # guard's breaker needs to notice, then answer 503 instead of queueing.
        if not self._fill_lock.acquire(timeout=self.lock_wait_s):
            self.guard.refuse_if_open("a latest-rows fill")
            raise ServingUnavailable("another latest-rows fill from PostgreSQL has not finished; "
                                     "retry shortly")
        try:
            found, missing = self.get(tickers, now_s)
            if not missing:
                return found
            wanted = list(dict.fromkeys([*missing, *(t for t in also if t not in self._rows)]))
            wanted = wanted[:max(len(missing), MAX_WARM_TICKERS)]
            metrics.UPSTREAM_CALLS.labels("warehouse").inc()
            frame = self.guard.call("latest rows", self.guard.warehouse.latest_features, wanted)
            self._store(frame, wanted, window)
        finally:
            self._fill_lock.release()
        return {**found, **self.get(missing, now_s)[0]}

    def _store(self, frame: pd.DataFrame, wanted: list[str], window: SessionWindow) -> None:
        frame = frame.drop_duplicates("ticker", keep="last").set_index("ticker", drop=False)
        features = [c for c in frame.columns if c not in ("ticker", "event_timestamp", "created_timestamp")]
        mono = time.monotonic()
        if len(self._rows) > 4 * MAX_WARM_TICKERS:
            self._rows.clear()
        for ticker in wanted:
            if ticker not in frame.index:
                self._rows[ticker] = CachedRow(None, None, window.valid_until_s, mono + self.recheck_s)
                continue
            record = frame.loc[ticker]
            stamp = pd.Timestamp(record["event_timestamp"]).timestamp()
            values = {f: None if record[f] is None else float(record[f]) for f in features}
            # Fresh rows hold until the next close; an older one is re-read after recheck_s
            # in case the pipeline writes the missing session meanwhile.
            fresh = stamp >= window.expected_close_s
            until_mono = float("inf") if fresh else mono + self.recheck_s
            self._rows[ticker] = CachedRow(values, stamp, window.valid_until_s, until_mono)
