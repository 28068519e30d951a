"""Helper columns the suites check, derived from the calendar and the ticker's history.

GX expectations compare columns; "is an XNYS session" and "is the session's close" need the
calendar, so those answers are added as columns first. Adding them here (vectorized) keeps
the suites plain JSON and validation of 500 rows in milliseconds.
"""

from __future__ import annotations

import pandas as pd

from stockfeatures import trading_calendar

XNYS_SESSION_DATE = "xnys_session_date"
XNYS_CLOSE = "xnys_close"
HISTORY_LENGTH = "history_length"
BENCHMARK_OVERLAP = "benchmark_overlap"
HELPER_COLUMNS = (XNYS_SESSION_DATE, XNYS_CLOSE, HISTORY_LENGTH, BENCHMARK_OVERLAP)


def prepare_raw(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars plus: is `session` a midnight XNYS session date, and that session's UTC close."""
    frame = bars.reset_index(drop=True).copy()
    sessions = pd.to_datetime(frame["session"], errors="coerce")
    if isinstance(sessions.dtype, pd.DatetimeTZDtype):
        # A tz-aware "date" is a timestamp in some timezone: never a session date.
        frame[XNYS_SESSION_DATE] = False
        frame[XNYS_CLOSE] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        return frame
    midnight = sessions.notna() & (sessions == sessions.dt.normalize())
    is_session = midnight.copy()
    is_session[midnight] = trading_calendar.is_session(sessions[midnight]).to_numpy()
    frame[XNYS_SESSION_DATE] = is_session.astype(bool)
    closes = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if is_session.any():
        closes[is_session] = trading_calendar.session_close(sessions[is_session]).as_unit("ns")
    frame[XNYS_CLOSE] = closes
    for column in ("event_timestamp", "created_timestamp"):
        if column in frame and not isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            # A naive instant has no defined moment: blank it so the pair expectation reports
            # the row as "not the XNYS close" instead of guessing a timezone.
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    return frame


def history_lengths(features: pd.DataFrame) -> pd.Series:
    """Per row: how many of the ticker's rows up to and including it are in `features`.

    Correct as the "sessions of own history" of a row only when `features` starts at the
    ticker's first bar or at least MAX_LOOKBACK sessions before the row (compute steps read
    that much history).
    """
    order = features.sort_values(["ticker", "event_timestamp"], kind="stable")
    return (order.groupby("ticker", sort=False).cumcount() + 1).reindex(features.index)


def positional(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a 0..n-1 RangeIndex (row numbers are positions), as a shallow copy when it
    has one already: a gate reads its input, and copying 25 columns of a million rows for
    nothing was a good part of the feature gate's time. Adding a column to the result leaves
    `frame` unchanged."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame.copy(deep=False)
    return frame.reset_index(drop=True)


def prepare_features(features: pd.DataFrame) -> pd.DataFrame:
    frame = positional(features)
    if HISTORY_LENGTH not in frame:
        frame[HISTORY_LENGTH] = history_lengths(frame)
    if BENCHMARK_OVERLAP not in frame:
        # Without the bars the overlap is unknown; own history is the stricter stand-in.
        frame[BENCHMARK_OVERLAP] = frame[HISTORY_LENGTH]
    return frame
