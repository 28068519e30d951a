"""Frames shaped exactly like `yf.download(..., auto_adjust=False, actions=True)` returns.

yfinance 1.x builds them by concatenating one frame per ticker (keys=ticker, names
['Ticker', 'Price']), reindexing every ticker to the union of dates (so a failed ticker is a
block of all-NaN columns), swapping to (Price, Ticker) and sorting the columns. The fakes
below do the same, so the collector meets what it will meet in production.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

FIELDS = ["Adj Close", "Close", "Dividends", "High", "Low", "Open", "Stock Splits", "Volume"]
RATE_LIMIT_MESSAGE = "YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')"


def history(sessions, start_price: float = 100.0, seed: int = 0, volume: float = 1e6) -> pd.DataFrame:
    """One ticker's Yahoo history on the given dates (tz-naive index named Date)."""
    rng = np.random.default_rng(seed)
    index = pd.DatetimeIndex(pd.to_datetime(sessions), name="Date")
    close = start_price * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    open_ = close * np.exp(rng.normal(0, 0.003, len(index)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    return pd.DataFrame({
        "Adj Close": close * 0.98, "Close": close.round(4), "Dividends": 0.0, "High": high.round(4),
        "Low": low.round(4), "Open": open_.round(4), "Stock Splits": 0.0,
        "Volume": np.full(len(index), volume),
    }, index=index)[FIELDS]


def download_frame(per_symbol: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Combine per-symbol histories like yfinance.multi does; None = a failed symbol."""
    frames = {}
    for symbol, frame in per_symbol.items():
        frames[symbol] = frame if frame is not None else pd.DataFrame(columns=FIELDS, dtype=float)
    index = None
    for frame in frames.values():
        if not frame.empty:
            index = frame.index if index is None else index.union(frame.index)
    index = index if index is not None else pd.DatetimeIndex([], name="Date")
    frames = {s: f.reindex(index) for s, f in frames.items()}
    data = pd.concat(frames.values(), axis=1, sort=True, keys=frames.keys(), names=["Ticker", "Price"])
    data.columns = data.columns.swaplevel(0, 1)
    data = data.sort_index(level=0, axis=1)
    return data


class FakeDownload:
    """A stand-in for yf.download: replays scripted answers and records each call.

    An answer is a frame, an exception to raise, or a callable(symbols) -> frame (which can
    log to the 'yfinance' logger the way yf.download reports per-ticker errors).
    """

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[dict] = []

    def __call__(self, symbols, **kwargs):
        self.calls.append({"symbols": list(symbols), **kwargs})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(list(symbols))
        return answer


def rate_limited(symbols_failing: list[str], frame: pd.DataFrame) -> Callable:
    """What yf.download does under a rate limit: log the error per ticker, return NaN columns."""

    def answer(symbols):
        logging.getLogger("yfinance").error("\n%d Failed downloads:", len(symbols_failing))
        logging.getLogger("yfinance").error(f"{symbols_failing}: {RATE_LIMIT_MESSAGE}")
        return frame

    return answer
