"""The plan's in-process async API: features straight from a FeatureServer, no HTTP.

For a strategy running in the same process as the stores (research notebooks, a single
box): `await features.get_features("AAPL", ["ret_1d"])` runs the same read path as the
HTTP server (read-through, breakers, degraded tier) in a thread, so the caller's event
loop never waits on Redis or PostgreSQL, and returns the same typed result as the HTTP
clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from stockfeatures.client.results import (
    NOT_FOUND,
    NULL_VALUE,
    OUTSIDE_MAX_AGE,
    PRESENT,
    Feature,
    TickerFeatures,
)

_STATUS = {"fresh": PRESENT, "historical": PRESENT, "stale": OUTSIDE_MAX_AGE, "unknown": NOT_FOUND}


class InProcessFeatures:
    def __init__(self, server=None):
        """server: a FeatureServer; default one opened from the environment's settings."""
        if server is None:
            from stockfeatures.config import load_settings
            from stockfeatures.serving.factory import open_feature_server

            server = open_feature_server(load_settings())
        self.server = server

    async def get_features(self, ticker: str, feature_names: Sequence[str] | None = None,
                           as_of: datetime | None = None) -> TickerFeatures:
        """One ticker's features (default every feature), latest or as known at as_of."""
        response = await asyncio.to_thread(self.server.get_features, [ticker], feature_names, None, as_of)
        item = response.tickers[0]
        read_at = datetime.now(UTC)
        status = _STATUS[item.status]
        features = {}
        for name, value in item.values.items():
            stamp = value.event_timestamp
            features[name] = Feature(
                name, value.value,
                NULL_VALUE if value.value is None and status != NOT_FOUND else status,
                stamp, None if stamp is None else (read_at - stamp).total_seconds(), value.source)
        return TickerFeatures(item.ticker, features, None)

    async def warm_cache(self, tickers: Sequence[str]) -> int:
        """Write the tickers' latest warehouse rows to the online store (next reads are
        hits) and keep them in the degraded tier; returns how many tickers had rows."""
        from stockfeatures.serving.warm_up import warm_up_store

        report = await asyncio.to_thread(warm_up_store, self.server.store, self.server.warehouse, tickers)
        window = self.server.freshness.window()
        now_s = self.server.freshness.clock().timestamp()
        await asyncio.to_thread(self.server.latest_rows.fill, list(tickers), window, now_s)
        return report.tickers
