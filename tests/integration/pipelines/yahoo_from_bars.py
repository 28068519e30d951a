"""Turn canonical raw bars into the frame yf.download would return for them."""

from __future__ import annotations

import pandas as pd

from tests.unit.pipelines.yahoo_fakes import FIELDS, download_frame


def yahoo_frame(bars: pd.DataFrame) -> pd.DataFrame:
    per_symbol = {}
    for ticker, rows in bars.groupby("ticker"):
        index = pd.DatetimeIndex(rows["session"], name="Date")
        per_symbol[ticker.replace(".", "-")] = pd.DataFrame({
            "Adj Close": rows["close"].to_numpy(), "Close": rows["close"].to_numpy(),
            "Dividends": 0.0, "High": rows["high"].to_numpy(), "Low": rows["low"].to_numpy(),
            "Open": rows["open"].to_numpy(), "Stock Splits": 0.0, "Volume": rows["volume"].to_numpy(),
        }, index=index)[FIELDS]
    return download_frame(per_symbol)
