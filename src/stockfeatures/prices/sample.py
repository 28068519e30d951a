"""Deterministic synthetic daily bars: a realistic market without a network.

Prices follow geometric Brownian motion driven by one market factor with slowly varying
volatility (so 60-day betas land in 0.5-1.5 and volatility clusters), plus per-ticker drift
and idiosyncratic volatility. The path is always simulated from ORIGIN with one random
stream per ticker drawn row by row, so a session's bar does not depend on the requested
range or universe: a daily incremental fetch continues a backfill seamlessly.

Corporate-action realism lives in SampleEvents (fixed dates, so incremental fetches agree):
a 4-for-1 split, quarterly cash dividends, a halted session and a late listing.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.prices.frames import DIVIDEND, SPLIT, empty_actions
from stockfeatures.prices.normalize import normalize_actions, normalize_bars
from stockfeatures.prices.source import PriceBatch, check_range
from stockfeatures.prices.tickers import UnknownTicker, validate_ticker, validate_tickers

ORIGIN = pd.Timestamp("2000-01-03")
BENCHMARK = "SPY"
DEFAULT_TICKERS: tuple[str, ...] = (
    "AAPL", "MSFT", "AMZN", "GOOGL", "META", "NVDA", "TSLA", "BRK.B", "JPM", "JNJ",
    "V", "PG", "XOM", "UNH", "HD", "MA", "CVX", "ABBV", "PFE", "KO",
    "PEP", "MRK", "BAC", "COST", "WMT", "DIS", "CSCO", "ADBE", "CRM", "NFLX",
    "INTC", "AMD", "ORCL", "T", "VZ", "NKE", "MCD", "IBM", "BA", "CAT",
    "GS", "MS", "HON", "QCOM", "TXN", "LOW", "SBUX", "AMGN", "GE", "RIVN",
    BENCHMARK,
)
_SESSIONS_PER_YEAR = 252
_DIVIDEND_EVERY = 63  # sessions: quarterly
_COLUMNS = ("session", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class SampleEvents:
    """Where the corporate-action realism happens; dates are XNYS sessions."""

    split_ticker: str = "NVDA"
    split_ex_date: str = "2021-07-20"
    split_ratio: float = 4.0
    dividend_tickers: tuple[str, ...] = ("AAPL", "MSFT", "JNJ", "KO", "XOM", "PG", BENCHMARK)
    halted_ticker: str = "BA"
    halted_session: str = "2022-03-09"
    late_ticker: str = "RIVN"
    listing_session: str = "2021-11-10"


def _ticker_key(seed: int, ticker: str, stream: int) -> list[int]:
    return [seed, zlib.crc32(ticker.encode()), stream]


def _market_paths(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily market log-returns and the volatility regime multiplier they were drawn with."""
    rng = np.random.default_rng([seed, 0])
    shocks = rng.standard_normal((n, 2))
    log_vol = np.empty(n)
    level, persistence, shock_size = 0.0, 0.985, 0.06
    for i in range(n):  # AR(1) in log volatility: one short loop over sessions, not rows
        level = persistence * level + shock_size * shocks[i, 0]
        log_vol[i] = level
    # Centre with the process's stationary variance, never a sample statistic of the path:
    # anything computed over the whole path would make a bar depend on the requested end.
    stationary_var = shock_size**2 / (1 - persistence**2)
    regime = np.exp(log_vol - stationary_var / 2)
    daily_vol = 0.16 / np.sqrt(_SESSIONS_PER_YEAR) * regime
    returns = 0.07 / _SESSIONS_PER_YEAR - daily_vol**2 / 2 + daily_vol * shocks[:, 1]
    return returns, regime


@dataclass(frozen=True)
class _Path:
    """OHLCV at the requested sessions only; `full_close` over the whole path, because each
    dividend is priced off the close before its ex-date, however far back that is."""

    full_close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _ticker_path(seed: int, ticker: str, market: np.ndarray, regime: np.ndarray,
                 at: np.ndarray) -> _Path:
    """Total-return OHLCV of one ticker from ORIGIN (no splits or dividends yet), at the
    session positions `at`.

    The random stream is drawn from ORIGIN and the closes are a running sum over it, so both
    are whole-path (cheap arrays); everything else is computed for `at` alone, with the same
    elementwise arithmetic as over the whole path, so a one-session fetch gives the bar a
    backfill gave, bit for bit, at the cost of the sessions it returns."""
    params = np.random.default_rng(_ticker_key(seed, ticker, 1))
    if ticker == BENCHMARK:
        beta, idio, alpha, start_price = 1.0, 0.01, 0.0, 145.0
    else:
        beta, idio = params.uniform(0.5, 1.5), params.uniform(0.12, 0.30)
        alpha, start_price = params.uniform(-0.03, 0.03), params.uniform(15.0, 120.0)
    base_volume = np.exp(params.uniform(np.log(2e6), np.log(6e7)))
    noise = np.random.default_rng(_ticker_key(seed, ticker, 2)).standard_normal((len(market), 5))

    idio_daily = idio / np.sqrt(_SESSIONS_PER_YEAR) * np.sqrt(regime)
    returns = alpha / _SESSIONS_PER_YEAR + beta * market + idio_daily * noise[:, 0]
    full_close = start_price * np.exp(np.cumsum(returns))
    close, returns, noise, regime = full_close[at], returns[at], noise[at], regime[at]
    previous_close = np.where(at > 0, full_close[np.maximum(at - 1, 0)], start_price)
    # Part of each day's move happens overnight: the open gaps from the previous close.
    open_ = previous_close * np.exp(0.35 * returns + 0.003 * noise[:, 1])
    day_vol = np.sqrt((beta * 0.16) ** 2 + idio**2) / np.sqrt(_SESSIONS_PER_YEAR) * np.sqrt(regime)
    high = np.maximum(open_, close) * np.exp(0.5 * day_vol * np.abs(noise[:, 2]))
    low = np.minimum(open_, close) * np.exp(-0.5 * day_vol * np.abs(noise[:, 3]))
    surprise = np.abs(returns) / day_vol
    volume = np.round(base_volume * np.exp(0.3 * noise[:, 4]) * (0.6 + 0.4 * surprise))
    return _Path(full_close, open_, high, low, close, volume)


def _dividend_schedule(seed: int, ticker: str, n: int) -> tuple[np.ndarray, float]:
    """Indices of ex-dates (every quarter, ticker-specific phase) and the quarterly yield."""
    params = np.random.default_rng(_ticker_key(seed, ticker, 3))
    phase = int(params.integers(5, _DIVIDEND_EVERY))
    return np.arange(phase, n, _DIVIDEND_EVERY), float(params.uniform(0.003, 0.009))


class SampleSource:
    """Synthetic bars for `tickers` (default: 50 large caps + SPY); same seed, same bars."""

    name = "sample"

    def __init__(
        self,
        tickers: Sequence[str] | None = None,
        seed: int = 7,
        *,
        events: SampleEvents | None = None,
    ) -> None:
        self.tickers = validate_tickers(DEFAULT_TICKERS if tickers is None else tickers)
        self.seed = int(seed)
        self.events = events or SampleEvents()
        self._split_ticker = validate_ticker(self.events.split_ticker)
        self._dividend_tickers = frozenset(validate_tickers(self.events.dividend_tickers))
        self._halted_ticker = validate_ticker(self.events.halted_ticker)
        self._late_ticker = validate_ticker(self.events.late_ticker)

    def fetch(
        self, tickers: Sequence[str] | None, start: date | str | None, end: date | str | None
    ) -> PriceBatch:
        """start None: from ORIGIN; end None: through the latest completed session."""
        if end is None:
            end = trading_calendar.latest_completed_session(pd.Timestamp.now(tz="UTC")).date()
        first, last = check_range(ORIGIN if start is None else start, end)
        if first < ORIGIN:
            raise ValueError(f"sample data starts at {ORIGIN.date()}; got start {first.date()}")
        wanted = self.tickers if tickers is None else validate_tickers(tickers)
        unknown = [t for t in wanted if t not in self.tickers]
        if unknown:
            raise UnknownTicker(
                f"sample source has no tickers {unknown}; its universe is {self.tickers}"
            )
        sessions = trading_calendar.sessions_between(ORIGIN, last)
        in_range = np.asarray(sessions >= first)
        if not in_range.any() or not wanted:
            return PriceBatch()
        market, regime = _market_paths(self.seed, len(sessions))
        window = np.flatnonzero(in_range)
        parts, actions = [], []
        for ticker in wanted:
            columns, ticker_actions = self._ticker_columns(ticker, sessions, window, market, regime)
            parts.append(columns)
            actions.extend(a for a in ticker_actions if first <= a["ex_date"] <= last)
        # One frame for the whole batch: a frame per ticker cost more than the bars themselves.
        raw = pd.DataFrame({
            "ticker": np.repeat(np.asarray(wanted, dtype=object), [len(p["session"]) for p in parts]),
            **{column: np.concatenate([p[column] for p in parts]) for column in _COLUMNS},
        })
        bars = normalize_bars(raw)
        action_frame = normalize_actions(pd.DataFrame(actions)) if actions else empty_actions()
        return PriceBatch(bars=bars, actions=action_frame)

    def _ticker_columns(
        self, ticker: str, sessions: pd.DatetimeIndex, window: np.ndarray, market: np.ndarray,
        regime: np.ndarray,
    ) -> tuple[dict[str, np.ndarray], list[dict]]:
        """One ticker's bars at the session positions `window` (minus its halted session or the
        sessions before its listing) as column arrays, and all its corporate actions."""
        n = len(sessions)
        events = self.events
        keep = np.ones(len(window), dtype=bool)
        if ticker == self._halted_ticker:
            keep &= np.asarray(sessions[window] != pd.Timestamp(events.halted_session))
        if ticker == self._late_ticker:
            keep &= np.asarray(sessions[window] >= pd.Timestamp(events.listing_session))
        at = window[keep]
        path = _ticker_path(self.seed, ticker, market, regime, at)
        price_scale = np.ones(n)
        volume_scale = np.ones(n)
        actions: list[dict] = []
        if ticker == self._split_ticker:
            ex = pd.Timestamp(events.split_ex_date)
            after = np.asarray(sessions >= ex)
            price_scale[after] /= events.split_ratio
            volume_scale[after] *= events.split_ratio
            actions.append({"ticker": ticker, "ex_date": ex, "kind": SPLIT, "value": events.split_ratio})
        if ticker in self._dividend_tickers:
            indices, quarterly_yield = _dividend_schedule(self.seed, ticker, n)
            step = np.ones(n)
            running = 1.0
            for i in indices:  # each dividend is priced off the close it follows: sequential
                previous_raw = round(path.full_close[i - 1] * price_scale[i - 1] * running, 2)
                amount = max(round(quarterly_yield * previous_raw, 2), 0.01)
                step[i] = 1.0 - amount / previous_raw
                running *= step[i]
                actions.append(
                    {"ticker": ticker, "ex_date": sessions[i], "kind": DIVIDEND, "value": amount}
                )
            price_scale *= np.cumprod(step)
        price_scale, volume_scale = price_scale[at], volume_scale[at]
        columns = {
            column: np.maximum(np.round(getattr(path, column) * price_scale, 2), 0.01)
            for column in ("open", "high", "low", "close")
        }
        return {"session": sessions.values[at], **columns, "volume": path.volume * volume_scale}, actions
