"""A circuit breaker around a store (Redis, PostgreSQL): after a failure, stop waiting on it for a cooldown.

Without it every request during an outage pays a connect timeout before falling back.
After the cooldown one caller probes; success closes the breaker, failure reopens it, so
serving recovers by itself when Redis returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allows(self) -> bool:
        """True when a call may go to Redis (closed, or the one probe after cooldown)."""
        if self._opened_at is None:
            return True
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or self.clock() - self._opened_at < self.cooldown_s:
                return False
            self._probing = True
            return True

    def would_allow(self) -> bool:
        """allows() without taking the probe: for a caller deciding whether to wait at all."""
        opened_at = self._opened_at
        if opened_at is None:
            return True
        return not self._probing and self.clock() - opened_at >= self.cooldown_s

    def record_success(self) -> None:
        if self._opened_at is not None or self._probing:
            with self._lock:
                self._opened_at, self._probing = None, False

    def record_failure(self) -> None:
        with self._lock:
            self._opened_at, self._probing = self.clock(), False
