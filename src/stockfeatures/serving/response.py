"""What a feature read returns: per ticker and feature, the value, its event time and source.

Times are kept as epoch seconds on the hot path (no datetime per value); the properties
convert on demand for callers who want timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

ONLINE, OFFLINE, COMPUTED = "online", "offline", "computed"

# Ticker statuses. UNKNOWN is a documented outcome, not an error: the ticker is well formed
# but neither the online store, the warehouse nor stored prices know it.
FRESH, STALE, UNKNOWN, HISTORICAL = "fresh", "stale", "unknown", "historical"


@dataclass(frozen=True, slots=True)
class FeatureValue:
    value: float | None
    event_time_s: float | None
    source: str | None

    @property
    def event_timestamp(self) -> datetime | None:
        if self.event_time_s is None:
            return None
        return datetime.fromtimestamp(self.event_time_s, UTC)


@dataclass(slots=True)
class TickerFeatures:
    """status: fresh (latest completed session), stale (older: best known), unknown, historical."""

    ticker: str
    status: str
    values: dict[str, FeatureValue] = field(default_factory=dict)

    @property
    def sources(self) -> set[str]:
        return {v.source for v in self.values.values() if v.source is not None}

    def oldest_event_time_s(self) -> float | None:
        times = [v.event_time_s for v in self.values.values() if v.event_time_s is not None]
        return min(times) if times else None


@dataclass(slots=True)
class FeatureResponse:
    """features: requested names in response order; tickers: one entry per requested ticker."""

    features: list[str]
    tickers: list[TickerFeatures]

    def __getitem__(self, ticker: str) -> TickerFeatures:
        for item in self.tickers:
            if item.ticker == ticker:
                return item
        raise KeyError(f"{ticker!r} was not part of this response")

    def to_frame(self) -> pd.DataFrame:
        """One row per ticker: status, then each feature's value (NaN when missing)."""
        rows = []
        for item in self.tickers:
            row: dict[str, object] = {"ticker": item.ticker, "status": item.status}
            for name in self.features:
                value = item.values.get(name)
                row[name] = float("nan") if value is None or value.value is None else value.value
            rows.append(row)
        return pd.DataFrame(rows, columns=["ticker", "status", *self.features])

    def to_dict(self) -> dict:
        """JSON-ready form used by GET /features/{ticker}."""
        return {
            "features": list(self.features),
            "tickers": [
                {
                    "ticker": item.ticker,
                    "status": item.status,
                    "features": {
                        name: {
                            "value": json_float(v.value),
                            "event_timestamp": rfc3339(v.event_time_s),
                            "source": v.source,
                        }
                        for name, v in item.values.items()
                    },
                }
                for item in self.tickers
            ],
        }


def json_float(value: float | None) -> float | str | None:
    """NaN/inf as the protobuf JSON strings Feast's server uses (not valid JSON numbers)."""
    if value is None:
        return None
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


_RFC3339: dict[float, str] = {}


def rfc3339(seconds: float | None) -> str | None:
    """Feast's timestamp spelling ("2025-06-30T20:00:00Z"); daily closes repeat, so memoize."""
    if seconds is None:
        return None
    text = _RFC3339.get(seconds)
    if text is None:
        stamp = datetime.fromtimestamp(seconds, UTC)
        text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
        micros = stamp.microsecond
        if micros:
            text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
        text += "Z"
        if len(_RFC3339) > 100_000:
            _RFC3339.clear()
        _RFC3339[seconds] = text
    return text
