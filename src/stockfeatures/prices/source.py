"""What a price source promises, and the registry that picks one by name.

Flows ask `get_source(name, **options)` and never import a concrete source, so adding one
(yfinance, a vendor feed) is one entry in `_BUILTIN_SOURCES` or a `register_source` call.
Built-in sources are named by import path and loaded on first use, so a source's
dependencies (e.g. yfinance) are only imported by those who ask for it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

from stockfeatures.prices.frames import empty_actions, empty_bars
from stockfeatures.prices.normalize import (
    InvalidActions,
    InvalidBars,
    normalize_actions,
    normalize_bars,
)

__all__ = [
    "InvalidActions",
    "InvalidBars",
    "PriceBatch",
    "PriceSource",
    "UnknownSource",
    "get_source",
    "normalize_actions",
    "normalize_bars",
    "register_source",
    "source_names",
]


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"ticker": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})


@dataclass(frozen=True)
class PriceBatch:
    """One fetch: raw bars and the corporate actions needed to adjust them (frames.md).

    A source that reads rows it does not return says so, so the ingest summary accounts for
    every input row: `rejected` (rows refused at the source, with `reason`, and `ticker` /
    `session` where they could be read), `outside_window` (rows outside the asked start..end)
    and `not_requested` (rows of tickers not asked for).
    """

    bars: pd.DataFrame = field(default_factory=empty_bars)
    actions: pd.DataFrame = field(default_factory=empty_actions)
    rejected: pd.DataFrame = field(default_factory=_no_rows)
    outside_window: int = 0
    not_requested: int = 0


@runtime_checkable
class PriceSource(Protocol):
    """Daily bars for XNYS sessions start..end inclusive; `tickers=None` means all it has.

    Implementations return frames already passed through normalize_bars/normalize_actions
    and raise stockfeatures.prices.tickers.UnknownTicker for tickers they cannot serve.
    """

    name: str

    def fetch(self, tickers: Sequence[str] | None, start: date, end: date) -> PriceBatch: ...


class UnknownSource(ValueError):
    """No source registered under that name."""


SourceFactory = Callable[..., PriceSource]

_BUILTIN_SOURCES: dict[str, str] = {
    "sample": "stockfeatures.prices.sample:SampleSource",
    "csv": "stockfeatures.prices.csv_source:CsvSource",
    "yfinance": "stockfeatures.prices.yahoo:YahooSource",
}
_registered: dict[str, SourceFactory] = {}


def register_source(name: str, factory: SourceFactory | str) -> None:
    """Make `get_source(name)` build sources with `factory` ("module:attribute" or callable)."""
    key = name.strip().lower()
    if isinstance(factory, str):
        _BUILTIN_SOURCES[key] = factory
        _registered.pop(key, None)
    else:
        _registered[key] = factory


def source_names() -> list[str]:
    return sorted({*_BUILTIN_SOURCES, *_registered})


def _factory(name: str) -> SourceFactory:
    key = name.strip().lower()
    if key in _registered:
        return _registered[key]
    if key not in _BUILTIN_SOURCES:
        raise UnknownSource(f"unknown price source {name!r}; known: {', '.join(source_names())}")
    module_name, _, attribute = _BUILTIN_SOURCES[key].partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    _registered[key] = factory
    return factory


def get_source(name: str, **options) -> PriceSource:
    """Build the source registered as `name` with `options` (e.g. get_source("csv", path=...))."""
    factory = _factory(name)
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as error:
        raise TypeError(
            f"price source {name!r} cannot take options {sorted(options)}: {error}; "
            f"its signature is {inspect.signature(factory)}"
        ) from None
    return factory(**options)


def check_range(start: date | str | None, end: date | str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validate a fetch range and return it as tz-naive dates (sessions are calendar dates).

    None means open-ended: from the calendar's first session, or up to its last.
    """
    from stockfeatures.trading_calendar import calendar_window

    window = calendar_window()
    first = pd.Timestamp(start) if start is not None else window[0]
    last = pd.Timestamp(end) if end is not None else window[1]
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ValueError(f"start/end are calendar dates; got timezone-aware {start!r}, {end!r}")
    first, last = first.normalize(), last.normalize()
    if last < first:
        raise ValueError(f"end {last.date()} is before start {first.date()}")
    return first, last
