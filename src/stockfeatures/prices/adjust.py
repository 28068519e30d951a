"""Backward adjustment of raw bars for splits and cash dividends (CRSP / Yahoo convention).

The latest bar keeps its raw values; every earlier bar is scaled by the product of the
factors of the actions whose ex_date is after it:
  split, ratio r:       prices / r, volume * r
  cash dividend D:      prices * (1 - D / raw close of the last bar before the ex_date)
Returns computed on adjusted prices are then total returns, continuous across splits.

Knowledge time: an action changes the adjusted history only relative to its ex_date bar,
so the action's created_timestamp is folded into that bar's created_timestamp. Any
feature whose window spans the action then carries the time the action became known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.prices.frames import (
    ADJUSTED_BAR_COLUMNS,
    DIVIDEND,
    PRICE_COLUMNS,
    RAW_BAR_COLUMNS,
    SPLIT,
)
from stockfeatures.prices.normalize import InvalidActions

_KEY = ["ticker", "session"]


def _utc(as_of: pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is None:
        raise ValueError(f"as_of={as_of!r} has no timezone; pass a UTC-aware timestamp")
    return stamp.tz_convert("UTC")


def latest_versions(bars: pd.DataFrame, as_of: pd.Timestamp | None = None,
                    columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per (ticker, session), the version with the greatest created_timestamp <= as_of.

    Bars whose session has not closed by `as_of` are invisible too. `as_of=None` keeps the
    latest version of everything. Equal created_timestamps: the later row in `bars` wins.
    Sorted by (ticker, session) with a fresh index. `columns`: only those, gathered column
    by column (selecting them first would copy the whole frame once more).
    """
    if columns is not None and not len(bars):
        return bars[list(columns)].reset_index(drop=True)
    visible = bars
    if as_of is not None:
        stamp = _utc(as_of)
        visible = bars[(bars["created_timestamp"] <= stamp) & (bars["event_timestamp"] <= stamp)]
    if (not len(visible) or visible["ticker"].dtype != object
            or visible[["ticker", "session", "created_timestamp"]].isna().any().any()):
        ordered = visible.sort_values("created_timestamp", kind="stable")
        latest = ordered.drop_duplicates(_KEY, keep="last")
        latest = latest.sort_values(_KEY, ignore_index=True)
        return latest if columns is None else latest[list(columns)]
    # One lexsort over integer keys instead of two frame sorts and a hash on (ticker,
    # session): the daily update runs this over every ticker's lookback window.
    tickers, _ = pd.factorize(visible["ticker"], sort=True)
    sessions = pd.DatetimeIndex(visible["session"]).asi8
    created = pd.DatetimeIndex(visible["created_timestamp"]).asi8
    order = np.lexsort((np.arange(len(visible)), created, sessions, tickers))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (tickers[order][1:] != tickers[order][:-1]) | (sessions[order][1:] != sessions[order][:-1])
    keep = order[last]
    if columns is None:
        return visible.take(keep).reset_index(drop=True)
    return pd.DataFrame({column: visible[column].array.take(keep) for column in columns})


def _restore_raw(bars: pd.DataFrame) -> pd.DataFrame:
    """Undo a previous adjustment, so adjusting adjusted bars never compounds factors."""
    price_factor = bars["close"] / bars["raw_close"]
    raw = bars.copy()
    for column in PRICE_COLUMNS:
        raw[column] = bars[column] / price_factor
    raw["close"] = bars["raw_close"]
    raw["volume"] = bars["raw_volume"]
    return raw[list(RAW_BAR_COLUMNS)]


def _with_merge_dtypes(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """merge_asof needs identical key dtypes; frames read back from a store may differ in
    datetime resolution (us vs ns) or string dtype."""
    wanted = {"ticker": np.dtype(object), date_column: np.dtype("datetime64[ns]")}
    changes = {column: dtype for column, dtype in wanted.items() if frame[column].dtype != dtype}
    return frame.astype(changes) if changes else frame


def _action_factors(bars: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """One row per (ticker, ex_date) that affects some bar: price/volume factor, knowledge time."""
    columns = ["ticker", "ex_date", "price_factor", "volume_factor", "created_timestamp", "attach"]
    if actions.empty or bars.empty:
        return pd.DataFrame(columns=columns)
    closes = bars[["ticker", "session", "close"]].sort_values("session")
    acts = actions[["ticker", "ex_date", "kind", "value", "created_timestamp"]]
    acts = acts[acts["ticker"].isin(closes["ticker"].unique())].sort_values("ex_date")
    if acts.empty:
        return pd.DataFrame(columns=columns)
    # The last bar strictly before the ex_date: its raw close prices the dividend, and
    # without it the action affects no bar.
    previous = pd.merge_asof(
        acts, closes.rename(columns={"session": "previous_session", "close": "previous_close"}),
        left_on="ex_date", right_on="previous_session", by="ticker",
        direction="backward", allow_exact_matches=False,
    )
    # The first bar on or after the ex_date carries the action's knowledge time.
    following = pd.merge_asof(
        previous, closes[["ticker", "session"]].rename(columns={"session": "attach"}),
        left_on="ex_date", right_on="attach", by="ticker", direction="forward",
    )
    applied = following[following["previous_close"].notna() & following["attach"].notna()].copy()
    is_split = applied["kind"].eq(SPLIT).to_numpy()
    is_dividend = applied["kind"].eq(DIVIDEND).to_numpy()
    value = applied["value"].to_numpy(dtype=float)
    dividend_factor = 1.0 - value / applied["previous_close"].to_numpy(dtype=float)
    too_large = is_dividend & ~(dividend_factor > 0)
    if too_large.any():
        rows = applied[too_large]
        shown = ", ".join(
            f"{t} {d.date()} dividend {v} vs close {c}"
            for t, d, v, c in zip(rows["ticker"], rows["ex_date"], rows["value"],
                                  rows["previous_close"], strict=True)
        )
        raise InvalidActions(
            f"dividend not below the previous raw close (adjustment factor <= 0): {shown}",
            rows=rows, rules=("dividend >= previous close",),
        )
    applied["price_factor"] = np.where(is_split, 1.0 / value, np.where(is_dividend, dividend_factor, 1.0))
    applied["volume_factor"] = np.where(is_split, value, 1.0)
    return applied.groupby(["ticker", "ex_date"], as_index=False).agg(
        price_factor=("price_factor", "prod"),
        volume_factor=("volume_factor", "prod"),
        created_timestamp=("created_timestamp", "max"),
        attach=("attach", "first"),
    )


def adjust_bars(
    bars: pd.DataFrame, actions: pd.DataFrame, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Adjusted bars (frames.md) from raw bars and corporate actions, as known at `as_of`.

    Uses the latest version of each bar (latest_versions) and the actions created by
    `as_of`. Adjusted bars passed back in (they carry raw_close/raw_volume) are restored
    to raw first, so adjust_bars is idempotent.
    """
    if {"raw_close", "raw_volume"} <= set(bars.columns):
        bars = _restore_raw(bars)
    # Column by column and one frame built at the end: at 10,000 tickers the daily update's
    # lookback window is 2.6 M bars, and every whole-frame copy here cost ~0.4 GB of peak RSS.
    if bars["ticker"].dtype != object:  # sort tickers as strings, as the merges key them
        bars = bars.assign(ticker=bars["ticker"].astype(object))
    raw = _with_merge_dtypes(latest_versions(bars, as_of, columns=RAW_BAR_COLUMNS), "session")
    actions = _with_merge_dtypes(actions, "ex_date")
    if as_of is not None and not actions.empty:
        actions = actions[actions["created_timestamp"] <= _utc(as_of)]
    factors = _action_factors(raw, actions)

    prices = {column: raw[column].to_numpy() for column in (*PRICE_COLUMNS, "volume")}
    created = raw["created_timestamp"]
    if len(factors):
        # Suffix products: the factor a bar needs is the product over all later actions,
        # i.e. the cumulative product from the last action back to the first one after it.
        suffix = factors.sort_values(["ticker", "ex_date"], ascending=[True, False])
        suffix["price_cum"] = suffix.groupby("ticker")["price_factor"].cumprod()
        suffix["volume_cum"] = suffix.groupby("ticker")["volume_factor"].cumprod()
        per_bar = pd.merge_asof(
            raw[_KEY].reset_index().sort_values("session"),
            suffix[["ticker", "ex_date", "price_cum", "volume_cum"]].sort_values("ex_date"),
            left_on="session", right_on="ex_date", by="ticker",
            direction="forward", allow_exact_matches=False,
        ).set_index("index").reindex(raw.index)
        price_factor = per_bar["price_cum"].fillna(1.0).to_numpy()
        volume_factor = per_bar["volume_cum"].fillna(1.0).to_numpy()
        per_bar = None
        for column in PRICE_COLUMNS:
            prices[column] = prices[column] * price_factor
        prices["volume"] = prices["volume"] * volume_factor
        attached = (
            factors.groupby(["ticker", "attach"], as_index=False)["created_timestamp"].max()
            .rename(columns={"attach": "session", "created_timestamp": "action_known"})
        )
        action_known = raw[_KEY].merge(attached, on=_KEY, how="left")["action_known"]
        later = (action_known > created).to_numpy()
        created = created.copy()
        created.loc[later] = action_known[later].to_numpy()
    columns = {"ticker": raw["ticker"], "session": raw["session"], **prices,
               "raw_close": raw["close"], "raw_volume": raw["volume"],
               "event_timestamp": raw["event_timestamp"], "created_timestamp": created}
    return pd.DataFrame({column: columns[column] for column in ADJUSTED_BAR_COLUMNS})
