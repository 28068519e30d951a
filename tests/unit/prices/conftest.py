"""Small hand-written bar frames shared by the price tests."""

from __future__ import annotations

import pandas as pd
import pytest


def bar_rows(ticker: str, sessions: list[str], closes: list[float], volume: float = 1000.0) -> pd.DataFrame:
    """Bars whose open = close, high/low 1% around it: valid by construction."""
    return pd.DataFrame(
        {
            "ticker": ticker,
            "session": sessions,
            "open": closes,
            "high": [c * 1.01 for c in closes],
            "low": [c * 0.99 for c in closes],
            "close": closes,
            "volume": volume,
        }
    )


@pytest.fixture
def make_bars():
    return bar_rows
