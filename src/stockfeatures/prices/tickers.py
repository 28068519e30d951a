"""The ticker entity key: one spelling everywhere, checked at the edge.

Every store, Feast entity key and cache key uses the same upper-case string. A value is
validated BEFORE it is folded: Python's str.upper() maps look-alikes onto real symbols
('ſpy' -> 'SPY', U+017F) and a C-level reader can cut a string at a NUL ('BN\\0L' -> 'BN'),
so a value must be ASCII without control characters first; only then are surrounding spaces
stripped and ASCII letters upper-cased (issue 10, finding 7).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

TICKER_PATTERN = re.compile(r"^[A-Z0-9.\-^=]{1,20}$")
_PATTERN_TEXT = "1-20 characters of A-Z, 0-9, '.', '-', '^', '='"


class InvalidTicker(ValueError):
    """A value cannot be a ticker; the message shows the value and the allowed pattern."""


class UnknownTicker(LookupError):
    """A well-formed ticker that the source has no data for."""


def _character_name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def ticker_problem(value: object) -> str | None:
    """Why `value` cannot be a ticker (None if it can), judged before any folding."""
    if not isinstance(value, str):
        return f"ticker must be a string, got {value!r} ({type(value).__name__})"
    # The whole-string checks are C loops; only a refused value is walked to name its character.
    for char in (value if not (value.isascii() and value.isprintable()) else ""):
        if not char.isascii():
            return (f"invalid ticker {value!r}: non-ASCII character {_character_name(char)}; "
                    "look-alikes are refused, write the symbol in ASCII")
        if not char.isprintable():
            return f"invalid ticker {value!r}: control character {_character_name(char)}"
    if not TICKER_PATTERN.match(value.strip(" ").upper()):
        return f"invalid ticker {value!r}: expected {_PATTERN_TEXT}"
    return None


def validate_ticker(value: object) -> str:
    """Refuse non-ASCII and control characters, then strip spaces and upper-case ASCII."""
    problem = ticker_problem(value)
    if problem is not None:
        raise InvalidTicker(problem)
    return value.strip(" ").upper()  # type: ignore[union-attr]


def validate_tickers(values: str | Iterable[object]) -> list[str]:
    """Validate every ticker, dropping repeats but keeping first-seen order.

    A single string is taken as one ticker, not as a sequence of one-letter tickers.
    """
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(validate_ticker(value) for value in values))
