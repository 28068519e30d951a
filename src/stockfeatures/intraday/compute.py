"""Intraday bars in, features_intraday rows out: the full and the per-cycle computation.

Output (docs/design/frames.md): ticker, event_timestamp, created_timestamp, then one
float64 column per IntradayFeatureSpec in INTRADAY_FEATURES order, sorted by ticker and
event_timestamp, one row per input bar.

Knowledge time of a row = max(its bar's end, the latest created_timestamp of any bar that
can feed one of its values): the session's bars from the open up to it (ret_since_open
and vwap_gap reach back that far) and the same slot's bars in the TOD_SESSIONS earlier
sessions that have it (volume_tod_ratio). A bar revised at 11:00 therefore re-dates every
row it can change, and a backtest run "as known at 10:30" never sees the revision.
Intraday features are per ticker, so only the ticker's own bars count (the daily tier's
cross-sectional features make it count every ticker's).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday import session_clock
from stockfeatures.intraday.grid import NO_TIME, IntradayGrid
from stockfeatures.intraday.spec import (
    BAR_LENGTH,
    INTRADAY_FEATURE_NAMES,
    INTRADAY_FEATURES,
    TOD_SESSIONS,
)

KEY_COLUMNS: tuple[str, ...] = ("ticker", "event_timestamp", "created_timestamp")


def empty_intraday_features() -> pd.DataFrame:
    columns = {"ticker": pd.Series(dtype=object),
               "event_timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
               "created_timestamp": pd.Series(dtype="datetime64[ns, UTC]")}
    columns.update({name: pd.Series(dtype="float64") for name in INTRADAY_FEATURE_NAMES})
    return pd.DataFrame(columns)


def intraday_knowledge_times(grid: IntradayGrid) -> pd.Series:
    """When each row became knowable (module docstring); exact int64 nanoseconds throughout."""
    created = grid.wide_instants("created_timestamp")
    since_open = grid.session_to_date(created, "cummax")
    same_slot = grid.previous_same_slot(created, TOD_SESSIONS, np.max, NO_TIME)
    latest = np.maximum(since_open, same_slot)[grid.cell_rows, grid.ticker_codes]
    event = grid.rows["event_timestamp"].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    known = np.maximum(latest, event)
    return pd.Series(pd.DatetimeIndex(known.view("datetime64[ns]")).tz_localize("UTC"),
                     index=grid.rows.index, name="created_timestamp")


def features_from_grid(grid: IntradayGrid) -> pd.DataFrame:
    if not len(grid.rows):
        return empty_intraday_features()
    columns: dict[str, pd.Series] = {
        "ticker": grid.rows["ticker"].astype(str).astype(object),
        "event_timestamp": grid.rows["event_timestamp"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]"),
        "created_timestamp": intraday_knowledge_times(grid),
    }
    for spec in INTRADAY_FEATURES:
        columns[spec.name] = spec.compute(grid).astype("float64")
    return pd.DataFrame(columns)


def compute_intraday_features(bars: pd.DataFrame) -> pd.DataFrame:
    """features_intraday rows for every bar (the latest version of each, any order).

    bars: the intraday bars frame (stockfeatures.intraday.normalize output); raises
    InvalidIntradayFrame naming what to fix.
    """
    return features_from_grid(IntradayGrid.from_bars(bars))


def history_start(session) -> pd.Timestamp:
    """First session the features of `session` read: the TOD_SESSIONS-th earlier full-clock
    session (a 13:00 close lacks the afternoon slots, so afternoon windows reach past it)."""
    return _history_start(pd.Timestamp(session).normalize())


@functools.lru_cache(maxsize=256)
def _history_start(day: pd.Timestamp) -> pd.Timestamp:
    """Cached: a push cycle asks twice every 5 minutes for the same session, and the answer
    (~60 calendar lookups, ~0.1 s) depends on the exchange calendar only."""
    earlier = trading_calendar.sessions_between(day - pd.Timedelta(days=3 * TOD_SESSIONS + 30), day)
    earlier = earlier[earlier < day]
    counts = np.array([session_clock.slot_count(s) for s in earlier])
    full = earlier[counts == counts.max()] if len(counts) else earlier
    if len(full) < TOD_SESSIONS:
        return earlier[0] if len(earlier) else day
    return full[-TOD_SESSIONS]


def latest_intraday_features(bars: pd.DataFrame, ended_after) -> pd.DataFrame:
    """Rows only for the bars that ended after `ended_after` (the cycle the flow runs), given
    `bars` holding at least history_start(session)..now of those tickers.

    Equal, bit for bit, to the same rows of compute_intraday_features over all history:
    every window is read as an explicit slice (grid.py), so bars older than the lookback
    cannot change a value. Bars before history_start are dropped first to keep it cheap.
    """
    after = pd.Timestamp(ended_after)
    if after.tzinfo is None:
        raise ValueError(f"ended_after={ended_after!r} has no timezone")
    if bars.empty:
        return empty_intraday_features()
    new = bars["event_timestamp"] > after
    if not new.any():
        return empty_intraday_features()
    first_session = bars.loc[new, "event_timestamp"].min() - BAR_LENGTH
    start = history_start(first_session.tz_convert(session_clock.NEW_YORK).tz_localize(None).normalize())
    open_of_start = session_clock.session_slots(start)[0]
    needed = bars[bars["event_timestamp"] > open_of_start]
    rows = compute_intraday_features(needed)
    return rows[rows["event_timestamp"] > after].reset_index(drop=True)
