"""Small valid raw-bar frames for gate tests (canonical layout, docs/design/frames.md)."""

from __future__ import annotations

import pandas as pd

from stockfeatures.prices.sample import SampleSource

TICKERS = ["AAPL", "MSFT", "SPY"]


def good_bars(tickers=TICKERS, start="2025-06-02", end="2025-06-13") -> pd.DataFrame:
    return SampleSource().fetch(tickers, start, end).bars
