"""Intraday feature math: one vectorized function per IntradayFeatureSpec, grid in, Series out.

Each function reads [slot x ticker] arrays of an IntradayGrid (grid.py): all tickers and
sessions at once, windows counted in slots of the session clock, so a missing bar makes
every window that spans it NaN. The formulas are the spec's texts. This module must not
import spec.py (spec imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from stockfeatures.intraday.grid import IntradayGrid

VOL_WINDOW = 12  # 5-minute log returns in an hour
RANGE_WINDOW = 6  # slots in 30 minutes
TOD_SESSIONS = 20  # sessions volume_tod_ratio averages over; spec.TOD_SESSIONS reads it


def ordered_sum(windows: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sum along `axis` strictly left to right.

    numpy picks a pairwise or a row-wise order from the memory layout, which changes with
    the number of tickers in the grid; a fixed order keeps a value's bits independent of
    which other tickers and sessions were computed with it (full vs incremental).
    """
    windows = np.moveaxis(windows, axis, -1)
    total = windows[..., 0].astype("float64", copy=True)
    for i in range(1, windows.shape[-1]):
        total += windows[..., i]
    return total


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    out[~np.isfinite(out)] = np.nan
    return out


def _return(grid: IntradayGrid, slots: int) -> np.ndarray:
    close = grid.wide("close")
    return _ratio(close, grid.lag(close, slots)) - 1.0


def ret_5m(grid: IntradayGrid) -> pd.Series:
    return grid.to_rows(_return(grid, 1), "ret_5m")


def ret_30m(grid: IntradayGrid) -> pd.Series:
    return grid.to_rows(_return(grid, 6), "ret_30m")


def ret_since_open(grid: IntradayGrid) -> pd.Series:
    return grid.to_rows(_ratio(grid.wide("close"), grid.at_open(grid.wide("open"))) - 1.0, "ret_since_open")


def realized_vol_1h(grid: IntradayGrid) -> pd.Series:
    close = grid.wide("close")
    squared = np.log(_ratio(close, grid.lag(close, 1))) ** 2
    total = grid.window(squared, VOL_WINDOW, ordered_sum)
    return grid.to_rows(np.sqrt(total), "realized_vol_1h")


def vwap_gap(grid: IntradayGrid) -> pd.Series:
    volume = np.nan_to_num(grid.wide("volume"), nan=0.0)
    typical = (grid.wide("high") + grid.wide("low") + grid.wide("close")) / 3.0
    traded = grid.session_to_date(np.nan_to_num(typical * volume, nan=0.0), "cumsum")
    shares = grid.session_to_date(volume, "cumsum")
    vwap = _ratio(traded, np.where(shares > 0, shares, np.nan))
    return grid.to_rows(_ratio(grid.wide("close"), vwap) - 1.0, "vwap_gap")


def volume_tod_ratio(grid: IntradayGrid) -> pd.Series:
    volume = grid.wide("volume")
    mean = grid.previous_same_slot(volume, TOD_SESSIONS, ordered_sum, np.nan) / TOD_SESSIONS
    return grid.to_rows(_ratio(volume, np.where(mean > 0, mean, np.nan)), "volume_tod_ratio")


def range_30m(grid: IntradayGrid) -> pd.Series:
    high = grid.window(grid.wide("high"), RANGE_WINDOW, np.max)
    low = grid.window(grid.wide("low"), RANGE_WINDOW, np.min)
    return grid.to_rows(_ratio(high - low, grid.wide("close")), "range_30m")
