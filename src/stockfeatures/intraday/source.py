"""What an intraday source promises, and the registry that picks one by name.

The daily price-source idea (stockfeatures.prices.source) for 5-minute bars: a flow asks
`get_intraday_source("sample")` (or "csv", "yfinance") and never imports a concrete source.
Built-ins are named by import path and loaded on first use, so yfinance is imported only by
those who ask for it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

from stockfeatures.intraday.frames import empty_intraday_bars, no_rejects
from stockfeatures.prices.source import PriceBatch, UnknownSource


@dataclass(frozen=True)
class IntradayBatch(PriceBatch):
    """One fetch of 5-minute bars; every row the source read ends in exactly one place.

    bars: the intraday bars frame; rejected: rows refused with `reason`; outside_window /
    not_requested: as PriceBatch; not_ended: bars that had not ended at the fetch instant
    (Yahoo's forming bar), dropped and counted, never stored; failures: ticker -> why the
    source had nothing for it (yfinance).
    """

    bars: pd.DataFrame = field(default_factory=empty_intraday_bars)
    rejected: pd.DataFrame = field(default_factory=no_rejects)
    not_ended: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {"bars": len(self.bars), "rejected": len(self.rejected), "not_ended": self.not_ended,
                "outside_window": self.outside_window, "not_requested": self.not_requested,
                "failed_tickers": len(self.failures)}


@runtime_checkable
class IntradaySource(Protocol):
    """5-minute bars of XNYS sessions start..end (dates, inclusive) that have ended at `as_of`.

    tickers=None means all the source has; as_of=None means now. Implementations return bars
    already passed through intraday.normalize.split_intraday_bars and raise UnknownTicker for
    tickers they cannot serve.
    """

    name: str

    def fetch(self, tickers: Sequence[str] | None, start: date | str | None = None,
              end: date | str | None = None, as_of: pd.Timestamp | None = None) -> IntradayBatch: ...


IntradaySourceFactory = Callable[..., IntradaySource]

_BUILTIN: dict[str, str] = {
    "sample": "stockfeatures.intraday.sample:SampleIntradaySource",
    "csv": "stockfeatures.intraday.csv_source:IntradayCsvSource",
    "yfinance": "stockfeatures.intraday.yahoo:YahooIntradaySource",
}
_registered: dict[str, IntradaySourceFactory] = {}


def register_intraday_source(name: str, factory: IntradaySourceFactory | str) -> None:
    """Make `get_intraday_source(name)` build with `factory` ("module:attribute" or callable)."""
    key = name.strip().lower()
    if isinstance(factory, str):
        _BUILTIN[key] = factory
        _registered.pop(key, None)
    else:
        _registered[key] = factory


def intraday_source_names() -> list[str]:
    return sorted({*_BUILTIN, *_registered})


def get_intraday_source(name: str, **options) -> IntradaySource:
    """Build the intraday source registered as `name` with `options`."""
    key = name.strip().lower()
    if key not in _registered:
        if key not in _BUILTIN:
            raise UnknownSource(f"unknown intraday source {name!r}; known: {', '.join(intraday_source_names())}")
        module_name, _, attribute = _BUILTIN[key].partition(":")
        _registered[key] = getattr(importlib.import_module(module_name), attribute)
    factory = _registered[key]
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as error:
        raise TypeError(f"intraday source {name!r} cannot take options {sorted(options)}: {error}; "
                        f"its signature is {inspect.signature(factory)}") from None
    return factory(**options)


def fetch_instant(as_of) -> pd.Timestamp:
    """The fetch's clock: `as_of` (tz-aware) or now, in UTC."""
    if as_of is None:
        return pd.Timestamp.now(tz="UTC")
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is None:
        raise ValueError(f"as_of={as_of!r} has no timezone; pass a tz-aware instant")
    return stamp.tz_convert("UTC")


def session_range(start, end, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Sessions start..end as tz-naive dates; a missing bound is the New York date of `now`."""
    today = now.tz_convert("America/New_York").tz_localize(None).normalize()
    first = pd.Timestamp(start) if start is not None else today
    last = pd.Timestamp(end) if end is not None else today
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ValueError(f"start/end are session dates; got timezone-aware {start!r}, {end!r}")
    first, last = first.normalize(), last.normalize()
    if last < first:
        raise ValueError(f"end {last.date()} is before start {first.date()}")
    return first, last
