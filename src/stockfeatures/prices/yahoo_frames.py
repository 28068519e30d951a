"""Pure reshaping of what `yf.download` returns into the platform's raw frames.

Written against yfinance's real output (1.x, `auto_adjust=False, actions=True`): columns are
a (Price, Ticker) MultiIndex with Adj Close, Close, Dividends, High, Low, Open, Stock Splits,
Volume; a ticker that failed is not an error but a block of empty or all-NaN columns; daily
bars are indexed by tz-naive exchange dates (tz-aware New York midnights with ignore_tz=False).

Yahoo's "raw" Close and Volume are already adjusted for every split up to the day of the
download, and so are its dividends. Stored history must not depend on when it was fetched,
so splits are undone here: price x product of the split ratios after the bar, volume /
that product. Adjustment is then recomputed from the stored actions (prices/adjust.py).
"Adj Close" is ignored for the same reason: it mixes in Yahoo's own dividend convention.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.prices.frames import DIVIDEND, PRICE_COLUMNS, SPLIT, empty_actions

NEW_YORK = "America/New_York"
YAHOO_FIELDS: dict[str, str] = {
    "Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume",
    "Dividends": "dividends", "Stock Splits": "splits",
}
BAR_VALUES: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
# Float noise from undoing a split (30.0125 x 4 = 120.05000000000001) would look like a
# restatement on the next fetch; Yahoo quotes at most 6 decimals, so round to that.
_PRICE_DECIMALS = 6


def to_yahoo_symbol(ticker: str) -> str:
    """Yahoo spells share classes with '-' (BRK-B) where exchanges and this platform use '.'."""
    return ticker.replace(".", "-")


def flatten_download(frame: pd.DataFrame | None, symbols: list[str]) -> pd.DataFrame:
    """One row per (symbol, index stamp) with snake_case fields, whichever column layout came back.

    Handles group_by='column' (Price, Ticker), group_by='ticker' (Ticker, Price) and the
    single-level columns yfinance returns for one ticker with multi_level_index=False.
    """
    columns = ["symbol", "stamp", *YAHOO_FIELDS.values()]
    if frame is None or frame.empty or len(frame.columns) == 0:
        return pd.DataFrame({column: pd.Series(dtype=float) for column in columns}).astype(
            {"symbol": object, "stamp": "datetime64[ns]"}
        )
    if isinstance(frame.columns, pd.MultiIndex):
        price_level = 0 if set(frame.columns.get_level_values(0)) <= set(YAHOO_FIELDS) | {"Adj Close"} else 1
        ticker_level = 1 - price_level
        long = frame.stack(level=ticker_level, future_stack=True)
        long.index = long.index.set_names(["stamp", "symbol"])
        long = long.reset_index()
    else:
        if len(symbols) != 1:
            raise ValueError(f"single-level yfinance columns but {len(symbols)} symbols requested")
        long = frame.rename_axis("stamp").reset_index().assign(symbol=symbols[0])
    long = long.rename(columns=YAHOO_FIELDS)
    for field in YAHOO_FIELDS.values():
        if field not in long.columns:
            long[field] = np.nan
        long[field] = pd.to_numeric(long[field], errors="coerce").astype("float64")
    return long[columns]


def exchange_sessions(stamps: pd.Series) -> pd.Series:
    """The exchange-local calendar date of each stamp, tz-naive.

    A stamp that is not a New York midnight (a frame localized in the wrong timezone) keeps
    its time of day, so the raw gate rejects it as "not an XNYS session date" instead of it
    silently landing on a neighbouring session.
    """
    stamps = pd.to_datetime(stamps)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(NEW_YORK).dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def split_factors(frame: pd.DataFrame) -> pd.Series:
    """Per row: product of the split ratios of the same symbol strictly after the row's date."""
    ratio = frame["splits"].where(frame["splits"] > 0, 1.0).fillna(1.0)
    ordered = frame.assign(_ratio=ratio).sort_values(["symbol", "session"], ascending=[True, False])
    inclusive = ordered.groupby("symbol", sort=False)["_ratio"].cumprod()
    return (inclusive / ordered["_ratio"]).reindex(frame.index)


def has_no_bar(frame: pd.DataFrame) -> pd.Series:
    """yfinance pads every symbol to the union of dates: such filler rows carry no values."""
    return frame[list(BAR_VALUES)].isna().all(axis=1)


def raw_bars(frame: pd.DataFrame, factors: pd.Series, tickers: dict[str, str]) -> pd.DataFrame:
    """Bars in the raw-bars layout with splits undone; values are not checked here (the raw
    gate does that and quarantines instead of raising)."""
    bars = pd.DataFrame({"ticker": frame["symbol"].map(tickers), "session": frame["session"]})
    for column in PRICE_COLUMNS:
        bars[column] = (frame[column] * factors).round(_PRICE_DECIMALS)
    bars["volume"] = (frame["volume"] / factors).round(0)
    valid = (bars["session"] == bars["session"].dt.normalize()) & trading_calendar.is_session(
        bars["session"].dt.normalize()
    ).to_numpy()
    event = pd.Series(pd.NaT, index=bars.index, dtype="datetime64[ns, UTC]")
    if valid.any():
        event[valid] = trading_calendar.session_close(bars.loc[valid, "session"]).as_unit("ns")
    bars["event_timestamp"] = event
    bars["created_timestamp"] = event
    bars["source"] = "yfinance"
    return bars.reset_index(drop=True)


def corporate_actions(frame: pd.DataFrame, factors: pd.Series, tickers: dict[str, str]) -> pd.DataFrame:
    """Splits (new shares per old) and cash dividends with Yahoo's split adjustment undone."""
    parts = []
    for field, kind, scale in (("splits", SPLIT, False), ("dividends", DIVIDEND, True)):
        hit = frame[frame[field].fillna(0) > 0]
        if hit.empty:
            continue
        value = hit[field] * factors[hit.index] if scale else hit[field]
        parts.append(pd.DataFrame({
            "ticker": hit["symbol"].map(tickers), "ex_date": hit["session"], "kind": kind,
            "value": value.round(_PRICE_DECIMALS),
        }))
    if not parts:
        return empty_actions()
    actions = pd.concat(parts, ignore_index=True)
    actions = actions[trading_calendar.is_session(actions["ex_date"].dt.normalize()).to_numpy()
                      & (actions["ex_date"] == actions["ex_date"].dt.normalize())]
    event = trading_calendar.session_close(actions["ex_date"]).as_unit("ns") if len(actions) else []
    actions = actions.assign(event_timestamp=event, created_timestamp=event)
    return actions.sort_values(["ticker", "ex_date", "kind"], ignore_index=True)


def missing_sessions(bars: pd.DataFrame, tickers: list[str], start: pd.Timestamp,
                     last_session: pd.Timestamp) -> pd.DataFrame:
    """(ticker, session) pairs the calendar has in [start, last_session] but the data lacks.

    Counted from each ticker's first bar (a late listing is not missing its earlier history);
    a ticker with no bar at all is a fetch failure, reported elsewhere.
    """
    expected = trading_calendar.sessions_between(start, last_session)
    present = bars[["ticker", "session"]].dropna()
    if present.empty or expected.empty:
        return pd.DataFrame({"ticker": pd.Series(dtype=object), "session": pd.Series(dtype="datetime64[ns]")})
    first = present.groupby("ticker")["session"].min()
    grid = pd.MultiIndex.from_product([tickers, expected], names=["ticker", "session"]).to_frame(index=False)
    grid = grid[grid["ticker"].isin(first.index)]
    grid = grid[grid["session"] >= grid["ticker"].map(first)]
    merged = grid.merge(present.drop_duplicates(), on=["ticker", "session"], how="left", indicator=True)
    lacking = merged[merged["_merge"] == "left_only"][["ticker", "session"]]
    return lacking.reset_index(drop=True)
