"""Background re-checks of misses a fill settled earlier in the session.

A settled marker ("stale": the warehouse has nothing newer than the online value;
"unknown": no data at all) expires after negative_ttl_s, so a ticker whose data arrives
later in the session is found. Re-checking in front of the request that found the marker
gone made that request wait for the warehouse: a 500-ticker read with a few stale tickers
stalled for about 100 ms every 30 s, and for about 1 s on a busy box, past the read deadline
(docs/scaling.md). Now a worker answers that request with the outcome it settled itself, as
it did a moment before, and re-checks beside it. Each worker has one re-check thread, each
ticker is queued once, and the fill lock keeps a ticker to one re-check across workers. A
re-check that finds a newer row writes it online, so the next read is a fresh hit.
A miss this worker never settled still gets its fill in the request (serving.miss_path).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from stockfeatures.serving.freshness import SessionWindow

log = logging.getLogger(__name__)

# run(tickers, window, settled): settled maps each ticker to the outcome served meanwhile.
RecheckRun = Callable[[list[str], SessionWindow, dict[str, str]], None]


class Rechecks:
    """One worker's queue of re-checks, run one batch at a time on one thread (started at
    the first re-check, so a server built before a fork starts none in the parent)."""

    def __init__(self, run: RecheckRun):
        self._run = run
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="recheck")
        self._queued: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def submit(self, settled: dict[str, str], window: SessionWindow) -> None:
        """Queue a re-check of the settled tickers not already queued for this session."""
        session = window.expected_close_s
        with self._lock:
            new = {t: outcome for t, outcome in settled.items() if (t, session) not in self._queued}
            self._queued.update((t, session) for t in new)
        if new:
            self._executor.submit(self._guarded, new, window)

    def _guarded(self, settled: dict[str, str], window: SessionWindow) -> None:
        try:
            self._run(list(settled), window, settled)
        except Exception as error:  # a down store: the marker stays expired, the next read retries
            log.warning("re-checking %d settled tickers failed (%s: %s); a later read retries",
                        len(settled), type(error).__name__, error)
        finally:
            with self._lock:
                self._queued.difference_update((t, window.expected_close_s) for t in settled)

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every re-check queued so far has run (the queue is first in, first out)."""
        self._executor.submit(lambda: None).result(timeout=timeout_s)
