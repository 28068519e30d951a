"""The intraday bars frame (docs/design/frames.md): column list and dtypes in one place."""

from __future__ import annotations

import pandas as pd

from stockfeatures.storage.tables import INTRADAY_BARS

INTRADAY_BAR_COLUMNS: tuple[str, ...] = INTRADAY_BARS.columns
VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_DTYPES: dict[str, str] = {
    "ticker": "object",
    "session": "datetime64[ns]",
    **dict.fromkeys(VALUE_COLUMNS, "float64"),
    "event_timestamp": "datetime64[ns, UTC]",
    "created_timestamp": "datetime64[ns, UTC]",
    "source": "object",
}


def empty_intraday_bars() -> pd.DataFrame:
    """Zero intraday bars with the contract's dtypes, so empty results concatenate cleanly."""
    return pd.DataFrame({column: pd.Series(dtype=_DTYPES[column]) for column in INTRADAY_BAR_COLUMNS})


def no_rejects() -> pd.DataFrame:
    return pd.DataFrame({"ticker": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})
