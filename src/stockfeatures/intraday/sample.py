"""Deterministic synthetic 5-minute sessions, anchored to the daily sample bars.

Each session of a ticker is drawn from its own random stream (seed, ticker, session), so a
bar never depends on the requested range, universe or clock: a cycle at 10:05 returns the
same 09:30-10:05 bars the 16:00 backfill does. The day opens at the daily SampleSource bar's
open, moves as a free random walk with the volatility of that bar's high-low range, and
trades about its volume along the U-shaped intraday profile (so the NVDA split and the
halted BA session carry over). The walk is deliberately NOT pinned to the daily close: a
path bridged to a known close would revert toward it, and an intraday backtest (vwap_gap
mean reversion) would find an edge that only the generator put there. Half days simply
have 42 slots. SampleIntradayEvents adds the edge cases tests need: randomly missing bars
and a ticker halted for part of a session.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockfeatures.intraday import session_clock
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.source import IntradayBatch, fetch_instant, session_range
from stockfeatures.prices.sample import DEFAULT_TICKERS, SampleSource
from stockfeatures.prices.tickers import UnknownTicker, validate_tickers

NAME = "sample"
_DRAW = "_missing_draw"  # per-bar uniform from the session's stream: a bar's fate is its own


@dataclass(frozen=True)
class SampleIntradayEvents:
    """Intraday edge cases (none by default).

    missing_rate: share of bars dropped at random (per bar, deterministic); halted_ticker
    trades no bars on halted_session from halt_from to halt_until (New York "HH:MM", bar
    starts in [from, until)).
    """

    missing_rate: float = 0.0
    halted_ticker: str | None = None
    halted_session: str | None = None
    halt_from: str = "11:00"
    halt_until: str = "12:00"


def _stream(seed: int, ticker: str, session: pd.Timestamp) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(ticker.encode()), int(session.value // 86_400_000_000_000), 5])


def _volume_profile(slots: int) -> np.ndarray:
    """Heavier at the open and the close: 1 + 2 x (distance from mid-session)^2, summing to 1."""
    x = np.linspace(-1.0, 1.0, slots)
    weights = 1.0 + 2.0 * x**2
    return weights / weights.sum()


def session_bars(seed: int, ticker: str, starts: pd.DatetimeIndex, daily) -> dict[str, np.ndarray]:
    """All bars of one ticker's session (bar starts `starts`), anchored to its daily bar."""
    n = len(starts)
    rng = _stream(seed, ticker, daily.session)
    shocks = rng.standard_normal((n, 4))
    # Parkinson: the daily bar's high-low range gives the day's volatility, spread over slots.
    step_vol = max(np.log(daily.high / daily.low) / (2 * np.sqrt(np.log(2))), 0.004) / np.sqrt(n)
    close = daily.open * np.exp(np.cumsum(step_vol * shocks[:, 0]))
    open_ = np.r_[daily.open, close[:-1]]
    wick = 0.25 * step_vol
    high = np.maximum(open_, close) * np.exp(wick * np.abs(shocks[:, 1]))
    low = np.minimum(open_, close) * np.exp(-wick * np.abs(shocks[:, 2]))
    volume = np.round(daily.volume * _volume_profile(n) * np.exp(0.25 * shocks[:, 3]))
    return {"ticker": np.full(n, ticker, dtype=object), "bar_start": starts.asi8,
            "open": np.round(open_, 4), "high": np.round(high, 4), "low": np.round(low, 4),
            "close": np.round(close, 4), "volume": volume, _DRAW: rng.random(n)}


class SampleIntradaySource:
    """Synthetic 5-minute bars for `tickers` (default: the daily sample's universe)."""

    name = NAME

    def __init__(self, tickers: Sequence[str] | None = None, seed: int = 7,
                 *, events: SampleIntradayEvents | None = None) -> None:
        self.tickers = validate_tickers(DEFAULT_TICKERS if tickers is None else tickers)
        self.seed = int(seed)
        self.events = events or SampleIntradayEvents()
        self._daily = SampleSource(self.tickers, seed=self.seed)
        self._anchors: dict[tuple, pd.DataFrame] = {}

    def fetch(self, tickers: Sequence[str] | None, start=None, end=None, as_of=None) -> IntradayBatch:
        """Bars of sessions start..end (default: the New York date of as_of) ended by as_of."""
        now = fetch_instant(as_of)
        first, last = session_range(start, end, now)
        wanted = self.tickers if tickers is None else validate_tickers(tickers)
        unknown = [t for t in wanted if t not in self.tickers]
        if unknown:
            raise UnknownTicker(f"intraday sample source has no tickers {unknown}; its universe is {self.tickers}")
        daily = self._daily_bars(tuple(wanted), first, last)
        if daily.empty:
            return IntradayBatch()
        slots = {day: session_clock.session_slots(day) for day in daily["session"].unique()}
        parts = [session_bars(self.seed, row.ticker, slots[row.session], row)
                 for row in daily[["ticker", "session", "open", "high", "low", "volume"]].itertuples(index=False)]
        columns = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        columns["bar_start"] = pd.DatetimeIndex(columns["bar_start"].view("datetime64[ns]")).tz_localize("UTC")
        raw = self._apply_events(pd.DataFrame(columns))
        ended = session_clock.has_ended(session_clock.bar_end(raw["bar_start"]), now)
        bars, rejected = split_intraday_bars(raw[ended], source=NAME)
        return IntradayBatch(bars=bars, rejected=rejected.reset_index(drop=True))

    def _daily_bars(self, tickers: tuple[str, ...], first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        """The daily anchors, kept for the source's life: a 5-minute flow asks for the same
        session every cycle, and the daily sample simulates from 2000 on each call."""
        key = (tickers, first, last)
        if key not in self._anchors:
            self._anchors.clear()
            self._anchors[key] = self._daily.fetch(list(tickers), first, last).bars
        return self._anchors[key]

    def _apply_events(self, raw: pd.DataFrame) -> pd.DataFrame:
        events = self.events
        keep = np.ones(len(raw), dtype=bool)
        if events.missing_rate > 0:
            keep &= raw[_DRAW].to_numpy() >= events.missing_rate
        if events.halted_ticker and events.halted_session:
            local = raw["bar_start"].dt.tz_convert(session_clock.NEW_YORK)
            clock = local.dt.strftime("%H:%M")
            halted = ((raw["ticker"] == events.halted_ticker.upper())
                      & (local.dt.tz_localize(None).dt.normalize() == pd.Timestamp(events.halted_session))
                      & (clock >= events.halt_from) & (clock < events.halt_until))
            keep &= ~halted.to_numpy()
        return raw[keep].drop(columns=[_DRAW]).reset_index(drop=True)
