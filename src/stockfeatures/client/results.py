"""Typed results of a feature read: value, status, age and source of every feature.

Built from the server's `feast serve` wire format with include_sources, so a strategy
gets each value's freshness and origin without parsing column-major JSON itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Feast's statuses, with this server's meaning (docs/serving.md): PRESENT fresh,
# OUTSIDE_MAX_AGE older than the latest session, NULL_VALUE fresh but undefined,
# NOT_FOUND unknown ticker.
PRESENT, OUTSIDE_MAX_AGE, NULL_VALUE, NOT_FOUND = "PRESENT", "OUTSIDE_MAX_AGE", "NULL_VALUE", "NOT_FOUND"
_EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature of one ticker. age_s: seconds from its event time to when it was read."""

    name: str
    value: float | None
    status: str
    event_timestamp: datetime | None
    age_s: float | None
    source: str | None

    @property
    def is_fresh(self) -> bool:
        return self.status == PRESENT


@dataclass(frozen=True, slots=True)
class TickerFeatures:
    """Every requested feature of one ticker; tier: which server tier answered."""

    ticker: str
    features: dict[str, Feature]
    tier: str | None

    def __getitem__(self, name: str) -> Feature:
        try:
            return self.features[name]
        except KeyError:
            raise KeyError(f"{name!r} was not requested; got {', '.join(self.features)}") from None

    @property
    def values(self) -> dict[str, float | None]:
        return {name: feature.value for name, feature in self.features.items()}

    @property
    def found(self) -> bool:
        return any(f.status != NOT_FOUND for f in self.features.values())


class FeatureClientError(Exception):
    """The server refused the request (4xx): `kind` is its stable error kind, `detail` why."""

    def __init__(self, status: int, kind: str, detail: str):
        super().__init__(f"HTTP {status} {kind}: {detail}")
        self.status, self.kind, self.detail = status, kind, detail


class FeaturesUnavailable(Exception):
    """The server stayed unavailable (503 or no connection) through every retry."""


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):  # "NaN", "Infinity", "-Infinity" as protobuf JSON spells them
        return float(value.replace("Infinity", "inf"))
    return float(value)


def _time(text: str | None) -> datetime | None:
    if not text or text == _EPOCH:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_online_response(payload: dict, tier: str | None, read_at: datetime | None = None) -> dict[str, TickerFeatures]:
    """ticker -> TickerFeatures from a /get-online-features answer (first column: tickers)."""
    read_at = read_at or datetime.now(UTC)
    names = payload["metadata"]["feature_names"][1:]
    columns = payload["results"]
    tickers = columns[0]["values"]
    out: dict[str, TickerFeatures] = {}
    for row, ticker in enumerate(tickers):
        features = {}
        for name, column in zip(names, columns[1:], strict=True):
            stamp = _time(column["event_timestamps"][row])
            sources = column.get("sources")
            features[name] = Feature(
                name=name,
                value=_number(column["values"][row]),
                status=column["statuses"][row],
                event_timestamp=stamp,
                age_s=None if stamp is None else (read_at - stamp).total_seconds(),
                source=sources[row] if sources else None,
            )
        out[ticker] = TickerFeatures(ticker, features, tier)
    return out
