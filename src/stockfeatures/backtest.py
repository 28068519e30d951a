"""Backtest helpers: decision times, point-in-time panels, a momentum portfolio, and the
naive look-ahead panel to compare against.

The rule every helper follows: a decision taken at instant T may use only what was known
at T (bars whose session closed by T, in the version known by T), and it trades at the first
session close after T. Outcomes (realized returns) may use today's best prices, because a
holding-period return is a fact once the period is over; only the decision side must be
"as known at T".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.retrieval import historical_features
from stockfeatures.trading_calendar import calendar, session_close, sessions_between

SIGNAL = "mom_12_1_rank"
NEW_YORK = "America/New_York"


class EmptyPanel(LookupError):
    """No feature values for the requested tickers and times: the store has not been filled."""


def _utc_index(times) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(times))
    if index.tz is None:
        raise ValueError("decision times must be timezone-aware (UTC recommended)")
    return index.tz_convert("UTC")


def rebalance_times(
    start: date | str,
    end: date | str,
    frequency: str = "M",
    before_close: pd.Timedelta | None = None,
) -> pd.DatetimeIndex:
    """UTC instants of the last XNYS session of each period (pandas period alias: M, Q, W, Y).

    The session close by default (16:00 New York, 13:00 on early closes, from the exchange
    calendar). `before_close` moves each instant earlier, e.g. 30 minutes for a decision
    taken while the market is still open: that session's bar is then not yet knowable.
    A period is included only when its true last session lies in [start, end], so a range
    that ends mid-month does not invent a month-end on the range's last day.
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    cal = calendar()
    period_end = end_ts.to_period(frequency).end_time.normalize()
    last_available = cal.sessions[-1]
    sessions = sessions_between(start_ts, min(period_end, last_available))
    if sessions.empty:
        return pd.DatetimeIndex([], tz="UTC")
    lasts = pd.Series(sessions, index=sessions).groupby(sessions.to_period(frequency)).max()
    lasts = lasts[(lasts >= start_ts) & (lasts <= end_ts)]
    closes = session_close(pd.DatetimeIndex(lasts.to_numpy()))
    return closes - before_close if before_close is not None else closes


def _entity_frame(tickers: Sequence[str], times: pd.DatetimeIndex) -> pd.DataFrame:
    chosen = validate_tickers(tickers)
    return pd.DataFrame(
        [(ticker, stamp) for stamp in times for ticker in chosen],
        columns=["ticker", "event_timestamp"],
    )


def point_in_time_panel(
    store,
    tickers: Sequence[str],
    times,
    features: Sequence[str] = (SIGNAL,),
) -> pd.DataFrame:
    """Feature values for every (ticker, decision time) as they were known at that time.

    Goes through Feast's get_historical_features with as_known_at=True, i.e.
    filter_by_created_timestamp=True: a value restated after T (a vendor correction, a late
    corporate action folded into the adjusted history) stays hidden from a decision at T,
    exactly as it was hidden from the live strategy then. Without it Feast would hand the
    backtest the latest version of each bar, and results would not reproduce live.
    """
    entity_df = _entity_frame(tickers, _utc_index(times))
    frame = historical_features(store, entity_df, features=list(features), as_known_at=True)
    stamps = pd.to_datetime(frame["event_timestamp"])
    # Stock Feast returns the entity time tz-naive in UTC.
    frame["event_timestamp"] = (
        stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    ).astype("datetime64[ns, UTC]")
    columns = ["ticker", "event_timestamp", *features]
    return frame[columns].sort_values(["event_timestamp", "ticker"], ignore_index=True)


def naive_panel(
    warehouse,
    tickers: Sequence[str],
    times,
    features: Sequence[str] = (SIGNAL,),
) -> pd.DataFrame:
    """The panel a quick pandas backtest builds: a dump of the feature table merged on DATE.

    Two leaks, both common and both silent:
    - merge on the New York calendar date: a decision at 15:30 gets the row stamped 16:00
      the same day, i.e. a bar that did not exist yet;
    - the dump holds the latest version of every row (`read_features()` as known now), so a
      value restated after the decision (with a later created_timestamp) is used as if it
      had been known all along.
    `feature_event_timestamp` records which row was used, so the caller can count the rows
    that were not knowable at the decision time.
    """
    times = _utc_index(times)
    chosen = validate_tickers(tickers)
    dump = warehouse.read_features(tickers=chosen)
    dump = dump[["ticker", "event_timestamp", *features]].rename(
        columns={"event_timestamp": "feature_event_timestamp"})
    dump["feature_event_timestamp"] = dump["feature_event_timestamp"].astype("datetime64[ns, UTC]")
    dump["date"] = dump["feature_event_timestamp"].dt.tz_convert(NEW_YORK).dt.date
    entity = _entity_frame(chosen, times)
    entity["event_timestamp"] = entity["event_timestamp"].astype("datetime64[ns, UTC]")
    entity["date"] = entity["event_timestamp"].dt.tz_convert(NEW_YORK).dt.date
    merged = entity.merge(dump, on=["ticker", "date"], how="left").drop(columns="date")
    columns = ["ticker", "event_timestamp", *features, "feature_event_timestamp"]
    return merged[columns].sort_values(["event_timestamp", "ticker"], ignore_index=True)


def adjusted_closes(warehouse, tickers: Sequence[str] | None = None) -> pd.DataFrame:
    """Split- and dividend-adjusted bars from the warehouse, latest known version of each.

    Used for outcomes only (see the module docstring), hence today's knowledge.
    """
    bars = latest_versions(warehouse.read_bars(tickers=tickers))
    if bars.empty:
        raise EmptyPanel("no price bars stored: run `stockfeatures demo` (or ingest) first")
    return adjust_bars(bars, warehouse.read_actions(tickers=tickers))


def _first_close_after(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    closes = pd.DatetimeIndex(calendar().closes.to_numpy(), tz="UTC")
    positions = closes.searchsorted(times, side="right")
    if (positions >= len(closes)).any():
        raise ValueError("a decision time lies after the last session the calendar knows")
    return closes[positions]


def momentum_portfolio_returns(
    panel: pd.DataFrame,
    prices: pd.DataFrame,
    top_fraction: float = 0.2,
    signal: str = SIGNAL,
) -> pd.DataFrame:
    """Period returns of an equal-weight long portfolio of the top `top_fraction` by `signal`.

    Chosen at each decision time in `panel` among tickers with a signal and a price, held
    from the first session close after that decision to the first close after the next one
    (a 15:30 decision trades at that day's close; a decision at 16:00 can only trade at the
    next close). A ticker without a bar on a close (halted, delisted) is valued at its last
    earlier close. The last decision has no exit and yields no row.
    """
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    decisions = pd.DatetimeIndex(panel["event_timestamp"].unique()).sort_values()
    columns = ["rebalanced_at", "held_from", "held_to", "names", "portfolio_return"]
    if len(decisions) < 2:
        return pd.DataFrame(columns=columns)
    entries = _first_close_after(decisions)
    price_times = prices["event_timestamp"].astype("datetime64[ns, UTC]")
    grid = (prices.assign(event_timestamp=price_times)
            .pivot_table(index="event_timestamp", columns="ticker", values="close")
            .sort_index())
    at_entries = grid.reindex(grid.index.union(entries)).ffill().reindex(entries)
    forward = at_entries.shift(-1) / at_entries - 1.0  # from this entry close to the next one
    forward.index = decisions
    outcome = forward.stack(future_stack=True).rename("forward_return").reset_index()
    outcome.columns = ["event_timestamp", "ticker", "forward_return"]

    candidates = panel[["ticker", "event_timestamp", signal]].merge(
        outcome, on=["event_timestamp", "ticker"], how="left")
    entry_price = at_entries.set_axis(decisions).stack(future_stack=True).rename("entry")
    entry_price.index.names = ["event_timestamp", "ticker"]
    candidates = candidates.join(entry_price, on=["event_timestamp", "ticker"])
    candidates = candidates.dropna(subset=[signal, "entry"])
    counts = candidates.groupby("event_timestamp")[signal].transform("size")
    keep = np.maximum(1, np.ceil(top_fraction * counts - 1e-9))
    order = candidates.groupby("event_timestamp")[signal].rank(ascending=False, method="first")
    held = candidates[order <= keep]
    result = held.groupby("event_timestamp").agg(
        names=("ticker", "size"), portfolio_return=("forward_return", "mean"))
    result = result.reindex(decisions[:-1])
    result.index.name = "rebalanced_at"
    result["held_from"] = entries[:-1]
    result["held_to"] = entries[1:]
    result["names"] = result["names"].fillna(0).astype(int)
    return result.reset_index()[columns]


@dataclass(frozen=True)
class Performance:
    """What a quant reads first: growth, average period, how often it won, over how long."""

    periods: int
    cagr: float
    mean_return: float
    hit_rate: float
    total_return: float


def performance(returns: pd.DataFrame) -> Performance:
    """Summary of momentum_portfolio_returns; CAGR over the actual calendar span held."""
    valid = returns.dropna(subset=["portfolio_return"])
    if valid.empty:
        return Performance(0, math.nan, math.nan, math.nan, math.nan)
    growth = float(np.prod(1.0 + valid["portfolio_return"].to_numpy()))
    years = (valid["held_to"].max() - valid["held_from"].min()).days / 365.25
    return Performance(
        periods=len(valid),
        cagr=growth ** (1.0 / years) - 1.0 if years > 0 else math.nan,
        mean_return=float(valid["portfolio_return"].mean()),
        hit_rate=float((valid["portfolio_return"] > 0).mean()),
        total_return=growth - 1.0,
    )
