"""Per-ticker fill locks and "already checked" markers in Redis, shared by every worker.

The lock is SET NX PX: exactly one caller fills a missing ticker, and the expiry frees the
lock if that caller dies, so nobody waits forever. It is released only by its owner
(compare-and-delete), so a slow owner whose lock expired cannot delete a successor's.
The marker remembers, for one session, that a fill found nothing newer (stale) or nothing
at all (unknown), so repeated requests for such tickers do not each go to the warehouse.

The same keys work on a Redis Cluster: a lock is one key per command (SET NX PX, the
compare-and-delete script), and the markers of one session share the hash tag
`{checked:<session close>}`, so the MGET that reads them for a batch of tickers stays one
command on one slot instead of raising CROSSSLOT. Markers are few (only tickers found stale
or unknown) and expire after negative_ttl_s, so keeping a session's on one node is cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class FillLocks:
    def __init__(self, client, project: str, ttl_ms: int, negative_ttl_s: float):
        self.client = client
        self.prefix = f"stockfeatures:{project}"
        self.ttl_ms = ttl_ms
        self.negative_ttl_ms = int(negative_ttl_s * 1000)
        self._release = client.register_script(_RELEASE)

    def lock_key(self, ticker: str) -> str:
        return f"{self.prefix}:fill-lock:{ticker}"

    def marker_key(self, ticker: str, expected_close_s: int) -> str:
        return f"{self.prefix}:{{checked:{expected_close_s}}}:{ticker}"

    def marker_pattern(self, ticker: str) -> str:
        """SCAN pattern of a ticker's markers for every session."""
        return f"{self.prefix}:{{checked:*}}:{ticker}"

    def acquire(self, tickers: Sequence[str]) -> dict[str, str]:
        """Try every lock in one round trip; returns ticker -> token for those acquired."""
        tokens = {ticker: uuid.uuid4().hex for ticker in tickers}
        pipe = self.client.pipeline(transaction=False)
        for ticker, token in tokens.items():
            pipe.set(self.lock_key(ticker), token, nx=True, px=self.ttl_ms)
        won = pipe.execute()
        return {t: token for (t, token), ok in zip(tokens.items(), won, strict=True) if ok}

    def release(self, tokens: dict[str, str]) -> None:
        for ticker, token in tokens.items():
            self._release(keys=[self.lock_key(ticker)], args=[token])

    def held(self, ticker: str) -> bool:
        return bool(self.client.exists(self.lock_key(ticker)))

    def mark(self, outcomes: dict[str, str], expected_close_s: int) -> None:
        if not outcomes:
            return
        pipe = self.client.pipeline(transaction=False)
        for ticker, outcome in outcomes.items():
            pipe.set(self.marker_key(ticker, expected_close_s), outcome, px=self.negative_ttl_ms)
        pipe.execute()

    def markers(self, tickers: Sequence[str], expected_close_s: int) -> dict[str, str]:
        if not tickers:
            return {}
        values = self.client.mget([self.marker_key(t, expected_close_s) for t in tickers])
        return {t: v.decode() for t, v in zip(tickers, values, strict=True) if v is not None}
