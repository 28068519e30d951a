"""Intraday bar feeds by name, for the push flow: `get_fetcher(name, **options)`.

A fetcher is `fetch(tickers, start, end) -> bars`: the 5-minute bars that ended in
(start, end] (columns of prices_intraday; created_timestamp optional, the cycle's knowledge
time fills it). The flow takes a feed's name (Prefect parameters must be plain values), so a
feed is registered once under a name: built-in feeds by import path, loaded on first use (so
yfinance is imported only by those who ask for it), others with `register_fetcher`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from stockfeatures.intraday.cycle import BarFetcher

FetcherFactory = Callable[..., BarFetcher]
# name -> "module:attribute" of a factory returning a BarFetcher. The intraday sources
# (sample, csv, yfinance; issue 13 part A) add their entries here when they land.
_BUILTIN: dict[str, str] = {}
_REGISTERED: dict[str, FetcherFactory] = {}


class UnknownFetcher(ValueError):
    """No intraday feed registered under that name."""


def register_fetcher(name: str, factory: FetcherFactory) -> None:
    _REGISTERED[name] = factory


def fetcher_names() -> list[str]:
    return sorted({*_BUILTIN, *_REGISTERED})


def get_fetcher(name: str, **options) -> BarFetcher:
    if name in _REGISTERED:
        return _REGISTERED[name](**options)
    target = _BUILTIN.get(name)
    if target is None:
        known = ", ".join(fetcher_names()) or "none registered"
        raise UnknownFetcher(f"no intraday feed named {name!r}; known: {known}")
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)(**options)
