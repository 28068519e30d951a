"""Column lists and dtypes of the price frames (docs/design/frames.md), in one place."""

from __future__ import annotations

import pandas as pd

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
RAW_BAR_COLUMNS: tuple[str, ...] = (
    "ticker", "session", *PRICE_COLUMNS, "volume", "event_timestamp", "created_timestamp",
)
ACTION_COLUMNS: tuple[str, ...] = (
    "ticker", "ex_date", "kind", "value", "event_timestamp", "created_timestamp",
)
ADJUSTED_BAR_COLUMNS: tuple[str, ...] = (
    "ticker", "session", *PRICE_COLUMNS, "volume", "raw_close", "raw_volume",
    "event_timestamp", "created_timestamp",
)
SPLIT = "split"
DIVIDEND = "dividend"
ACTION_KINDS: tuple[str, ...] = (SPLIT, DIVIDEND)

_UTC = "datetime64[ns, UTC]"
_DTYPES: dict[str, str] = {
    "ticker": "object",
    "session": "datetime64[ns]",
    "ex_date": "datetime64[ns]",
    "kind": "object",
    "value": "float64",
    "volume": "float64",
    "raw_close": "float64",
    "raw_volume": "float64",
    "event_timestamp": _UTC,
    "created_timestamp": _UTC,
    **{column: "float64" for column in PRICE_COLUMNS},
}


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    """A zero-row frame with the contract's dtypes, so empty results still concatenate cleanly."""
    return pd.DataFrame({column: pd.Series(dtype=_DTYPES[column]) for column in columns})


def empty_bars() -> pd.DataFrame:
    return empty_frame(RAW_BAR_COLUMNS)


def empty_actions() -> pd.DataFrame:
    return empty_frame(ACTION_COLUMNS)
