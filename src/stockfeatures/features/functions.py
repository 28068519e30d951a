"""Feature math: one vectorized function per FeatureSpec, PricePanel in, row-aligned Series out.

Every function works on wide [observation x ticker] arrays (see panel.py), so a window of n
means the ticker's last n observed bars, all tickers at once. Values are NaN until the
window is full. This module must not import spec.py (spec imports it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockfeatures.features.trailing import trailing

if TYPE_CHECKING:
    from stockfeatures.features.panel import PricePanel

TRADING_DAYS_PER_YEAR = 252
RSI_WINDOW = 14
ATR_WINDOW = 14
VOLUME_Z_WINDOW = 20
BETA_WINDOW = 60


def _lag(wide: np.ndarray, periods: int) -> np.ndarray:
    """Value `periods` observations earlier in the same ticker's history (NaN before its start).

    empty_like, then each cell written once: a NaN-filled array overwritten below its first
    `periods` rows wrote the whole array twice."""
    lagged = np.empty_like(wide)
    lagged[:periods] = np.nan
    if periods < len(wide):
        lagged[periods:] = wide[: len(wide) - periods]
    return lagged


def _previous_close(panel: PricePanel) -> np.ndarray:
    """close one observation earlier, built once per panel (returns, RSI, ATR, gap, beta)."""
    return panel.derived("previous_close", lambda: _lag(panel.wide("close"), 1))


def _simple_returns(panel: PricePanel, periods: int) -> np.ndarray:
    close = panel.wide("close")
    previous = _previous_close(panel) if periods == 1 else _lag(close, periods)
    return close / previous - 1.0


def _log_returns(panel: PricePanel) -> np.ndarray:
    return np.log(panel.wide("close") / _previous_close(panel))


def _annualized_volatility(panel: PricePanel, window: int) -> np.ndarray:
    variance = trailing(_log_returns(panel), window, "var", ddof=1)
    return np.sqrt(np.maximum(variance, 0.0) * TRADING_DAYS_PER_YEAR)


def ret_1d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_simple_returns(panel, 1), "ret_1d")


def ret_5d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_simple_returns(panel, 5), "ret_5d")


def ret_20d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_simple_returns(panel, 20), "ret_20d")


def vol_20d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_annualized_volatility(panel, 20), "vol_20d")


def vol_60d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_annualized_volatility(panel, 60), "vol_60d")


def _mom_12_1_wide(panel: PricePanel) -> np.ndarray:
    """Built once per panel: mom_12_1 and mom_12_1_rank both read it."""
    def build() -> np.ndarray:
        close = panel.wide("close")
        return _lag(close, 21) / _lag(close, 252) - 1.0
    return panel.derived("mom_12_1", build)


def mom_12_1(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_mom_12_1_wide(panel), "mom_12_1")


def ma_gap_20d(panel: PricePanel) -> pd.Series:
    close = panel.wide("close")
    return panel.to_rows(close / trailing(close, 20, "mean") - 1.0, "ma_gap_20d")


def rsi_14(panel: PricePanel) -> pd.Series:
    """ta.momentum.RSIIndicator(window=14).rsi(), but NaN until 14 price changes exist.

    ta seeds its EWMs with a zero change on the first bar, so it reports a value from the
    14th bar on (13 real changes); spec.lookback asks for 15 bars, so that one value is NaN.
    """
    close = panel.wide("close")
    change = close - _previous_close(panel)
    # Same expressions as ta (momentum.py, RSIIndicator._run) so values agree to the last bit.
    up = np.where(change > 0, change, 0.0)
    down = -np.where(change < 0, change, 0.0)
    ewm = {"alpha": 1 / RSI_WINDOW, "min_periods": RSI_WINDOW, "adjust": False}
    ema_up = pd.DataFrame(up).ewm(**ewm).mean().to_numpy()
    ema_down = pd.DataFrame(down).ewm(**ewm).mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = np.where(ema_down == 0, 100.0, 100.0 - 100.0 / (1.0 + ema_up / ema_down))
    rsi[:RSI_WINDOW] = np.nan  # observations 0..13 have fewer than 14 price changes
    return panel.to_rows(rsi, "rsi_14")


def _average_true_range(panel: PricePanel) -> np.ndarray:
    """ta.volatility.AverageTrueRange(window=14): seeded by the mean true range of the first
    14 bars (the first bar's true range is high - low), then Wilder's recursion. NaN (not ta's
    0) during warm-up. The recursion loops over observations; each step covers all tickers."""
    high, low = panel.wide("high"), panel.wide("low")
    previous_close = _previous_close(panel)
    true_range = np.fmax(
        np.fmax(high - low, np.abs(high - previous_close)), np.abs(low - previous_close)
    )
    atr = np.full_like(true_range, np.nan)
    if len(true_range) < ATR_WINDOW:
        return atr
    # Row-contiguous sum over each ticker's first 14 values, summed like pandas' Series.mean.
    atr[ATR_WINDOW - 1] = np.ascontiguousarray(true_range[:ATR_WINDOW].T).sum(axis=1) / ATR_WINDOW
    keep = float(ATR_WINDOW - 1)
    for i in range(ATR_WINDOW, len(atr)):
        atr[i] = (atr[i - 1] * keep + true_range[i]) / float(ATR_WINDOW)
    return atr


def natr_14(panel: PricePanel) -> pd.Series:
    return panel.to_rows(_average_true_range(panel) / panel.wide("close"), "natr_14")


def volume_z_20(panel: PricePanel) -> pd.Series:
    """NaN when the window's volumes are all equal, decided exactly (no change between any
    two consecutive volumes of the window) rather than by a floating std that may come out
    as 1e-9 instead of 0. One rolling count of changes costs half a rolling max and min."""
    volume = panel.wide("volume")
    mean = trailing(volume, VOLUME_Z_WINDOW, "mean")
    std = trailing(volume, VOLUME_Z_WINDOW, "std", ddof=1)
    changed = (~(volume == _lag(volume, 1))).astype("float64")  # a NaN on either side counts
    flat = trailing(changed, VOLUME_Z_WINDOW - 1, "sum") == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (volume - mean) / std
    z[flat] = np.nan
    # A point's z-score within its own window of n is at most (n-1)/sqrt(n); clip rounding only.
    bound = (VOLUME_Z_WINDOW - 1) / math.sqrt(VOLUME_Z_WINDOW)
    return panel.to_rows(np.clip(z, -bound, bound), "volume_z_20")


def drawdown_252(panel: PricePanel) -> pd.Series:
    close = panel.wide("close")
    return panel.to_rows(close / trailing(close, 252, "max") - 1.0, "drawdown_252")


def gap_1d(panel: PricePanel) -> pd.Series:
    return panel.to_rows(panel.wide("open") / _previous_close(panel) - 1.0, "gap_1d")


def _benchmark_close_by_cell(panel: PricePanel) -> np.ndarray | None:
    """The benchmark's close on the session of each wide cell (NaN where the benchmark has no
    usable bar that session, or past the ticker's end); None if the benchmark is absent."""
    if not (panel.tickers == panel.benchmark).any():
        return None
    by_session = np.full(len(panel.sessions), np.nan)
    # The benchmark's column code, not a string compare of every row's ticker.
    code = int(np.flatnonzero(panel.tickers == panel.benchmark)[0])
    own = (panel.ticker_codes == code) & panel.usable_rows
    by_session[panel.session_codes[own]] = panel.rows["close"].to_numpy(dtype="float64")[own]
    codes = panel.wide_session_codes
    return np.where(codes >= 0, by_session[np.maximum(codes, 0)], np.nan)


def _benchmark_returns_over_own_intervals(panel: PricePanel) -> np.ndarray | None:
    """Per wide cell: benchmark close on this bar's session / benchmark close on the session
    of the ticker's previous bar - 1. After a missing session the ticker's return spans two
    sessions, and so does the benchmark's it is paired with (issue 10, finding 3)."""
    benchmark_close = _benchmark_close_by_cell(panel)
    if benchmark_close is None:
        return None
    return benchmark_close / _lag(benchmark_close, 1) - 1.0


def benchmark_overlap(panel: PricePanel) -> np.ndarray:
    """Per row: how many consecutive bars of the ticker, ending at this one, fall on sessions
    where the benchmark has a usable bar. beta_60d is defined exactly when this reaches
    BETA_WINDOW + 1, so it is the history that beta's warm-up counts (0 without a benchmark)."""
    benchmark_close = _benchmark_close_by_cell(panel)
    if benchmark_close is None:
        return np.zeros(len(panel.rows), dtype="int64")
    shared = np.isfinite(benchmark_close)
    position = np.arange(len(shared))[:, None].repeat(shared.shape[1], axis=1)
    last_gap = np.maximum.accumulate(np.where(shared, -1, position), axis=0)
    run = np.where(shared, position - last_gap, 0)
    return run[panel.observation, panel.ticker_codes].astype("int64")


def _rolling_covariance(x: np.ndarray, y: np.ndarray, window: int, mean_x: np.ndarray,
                        mean_y: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof=1) over full windows from the trailing means of x and y (the
    caller computes the benchmark's once for both calls); the same arithmetic for
    var(x) = cov(x, x) makes the benchmark's own beta exactly 1."""
    mean_xy = trailing(x * y, window, "mean")
    return (mean_xy - mean_x * mean_y) * (window / (window - 1))


def beta_60d(panel: PricePanel) -> pd.Series:
    """Beta to `panel.benchmark` over the ticker's last 60 returns, each paired with the
    benchmark's return over the same interval (previous bar's session to this one); NaN
    unless all 60 pairs exist, NaN everywhere if the benchmark is not in the panel."""
    benchmark = _benchmark_returns_over_own_intervals(panel)
    if benchmark is None:
        return panel.to_rows(np.full(panel.shape, np.nan), "beta_60d")
    own = _simple_returns(panel, 1)
    paired = np.isfinite(own) & np.isfinite(benchmark)
    own, benchmark = np.where(paired, own, np.nan), np.where(paired, benchmark, np.nan)
    mean_own = trailing(own, BETA_WINDOW, "mean")
    mean_benchmark = trailing(benchmark, BETA_WINDOW, "mean")
    covariance = _rolling_covariance(own, benchmark, BETA_WINDOW, mean_own, mean_benchmark)
    variance = _rolling_covariance(benchmark, benchmark, BETA_WINDOW, mean_benchmark, mean_benchmark)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(variance > 0, covariance / variance, np.nan)
    return panel.to_rows(beta, "beta_60d")


def dollar_volume_20d(panel: PricePanel) -> pd.Series:
    """The one feature on raw prices: traded dollars are what they were, not split-adjusted."""
    traded = panel.wide("raw_close") * panel.wide("raw_volume")
    return panel.to_rows(trailing(traded, 20, "mean"), "dollar_volume_20d")


def mom_12_1_rank(panel: PricePanel) -> pd.Series:
    """Percentile rank (0, 1] of mom_12_1 among tickers with a value on the same session.

    Only usable rows take part (and get a rank): a row that failed validation neither
    receives a rank nor shifts anyone else's."""
    momentum = np.where(panel.usable_rows, panel.to_rows(_mom_12_1_wide(panel)).to_numpy(), np.nan)
    ranked = percentile_rank_by_session(panel.by_session(momentum))
    return pd.Series(panel.from_sessions(ranked), index=panel.index, name="mom_12_1_rank")


def percentile_rank_by_session(grid: np.ndarray) -> np.ndarray:
    """Each row of a [session x ticker] grid ranked in (0, 1] among its non-NaN cells (ties
    share the average rank). Rows are independent, so a subset of sessions ranks alike."""
    frame = pd.DataFrame(grid, copy=False)
    return frame.rank(axis=1, pct=True, method="average").to_numpy()
