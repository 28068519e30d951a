"""The ticker entity key: one spelling everywhere, checked at the edge.

Every store, Feast entity key and cache key uses the same upper-case string, so a
lower-case or padded symbol coming from a file or a request is normalized here once,
and anything that could not be a listed symbol is refused before it reaches a store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TICKER_PATTERN = re.compile(r"^[A-Z0-9.\-^=]{1,20}$")


class InvalidTicker(ValueError):
    """A value cannot be a ticker; the message shows the value and the allowed pattern."""


class UnknownTicker(LookupError):
    """A well-formed ticker that the source has no data for."""


def validate_ticker(value: object) -> str:
    """Strip and upper-case `value`; raise InvalidTicker if it still is not a ticker."""
    if not isinstance(value, str):
        raise InvalidTicker(f"ticker must be a string, got {value!r} ({type(value).__name__})")
    ticker = value.strip().upper()
    if not TICKER_PATTERN.match(ticker):
        raise InvalidTicker(
            f"invalid ticker {value!r}: expected 1-20 characters of A-Z, 0-9, '.', '-', '^', '='"
        )
    return ticker


def validate_tickers(values: str | Iterable[object]) -> list[str]:
    """Validate every ticker, dropping repeats but keeping first-seen order.

    A single string is taken as one ticker, not as a sequence of one-letter tickers.
    """
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(validate_ticker(value) for value in values))
