"""Real daily bars that maintained PyPI packages ship, written as a user's CSV file.

- GOOG 2004-08-19 .. 2013-03-01 (backtesting, backtesting/test/GOOG.csv): raw prices as
  traded (the 2014 split is after the file's end), no dividends.
- ^GSPC and ^IXIC 1999-01-04 .. 2018-12-31 (arch, arch/data/{sp500,nasdaq}): index levels
  and their members' combined share volume; an index pays no dividend and never splits.

The files are located through package metadata and read as files: neither package is
imported (backtesting would pull in bokeh at import time).
"""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

import pandas as pd

BENCHMARK = "^GSPC"
TICKERS = ("GOOG", "^GSPC", "^IXIC")
_FILES = {
    "GOOG": ("backtesting", "backtesting/test/GOOG.csv"),
    "^GSPC": ("arch", "arch/data/sp500/sp500.csv.gz"),
    "^IXIC": ("arch", "arch/data/nasdaq/nasdaq.csv.gz"),
}
CSV_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume")


def shipped_file(ticker: str) -> Path:
    package, path = _FILES[ticker]
    return Path(distribution(package).locate_file(path))


def real_bars(ticker: str) -> pd.DataFrame:
    """One ticker's bars as CSV rows (docs/csv-format.md columns), in date order."""
    raw = pd.read_csv(shipped_file(ticker), index_col=0)
    dates = pd.to_datetime(raw.index, format="mixed")
    frame = pd.DataFrame({
        "ticker": ticker,
        "date": dates.strftime("%Y-%m-%d"),
        "open": raw["Open"].to_numpy(), "high": raw["High"].to_numpy(),
        "low": raw["Low"].to_numpy(), "close": raw["Close"].to_numpy(),
        "volume": raw["Volume"].to_numpy(),
    })
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def all_bars(tickers=TICKERS) -> pd.DataFrame:
    return pd.concat([real_bars(t) for t in tickers], ignore_index=True)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """The file a user would hand to `stockfeatures ingest --source csv` (repr floats: exact)."""
    frame.loc[:, list(CSV_COLUMNS)].to_csv(path, index=False, float_format=None)
    return path
