"""The intraday bar gate (Great Expectations): 5-minute bars before storage.

Bars: expectations/intraday_bars.json (market rules, hand-written like raw_prices.json), with
one helper column, xnys_bar_end, from the calendar. A rejected bar goes to quarantine alone:
unlike daily bars, the ticker's later bars are not withheld, because intraday windows count
session slots (stockfeatures.intraday.spec), so a missing bar makes the windows over it NaN
instead of silently stretching them.

Features have their own suite, derived from IntradayFeatureSpec (intraday/validation.py); a
rejected feature row is not pushed, so the online store keeps the ticker's last good value.
"""

from __future__ import annotations

import time

import pandas as pd

from stockfeatures.intraday.session_clock import is_bar_end
from stockfeatures.validation.gate import GateResult, gate_rows

BARS_SUITE = "intraday_bars"
BAR_END = "xnys_bar_end"
BAR_STAGE = "intraday_bars"
FEATURE_STAGE = "intraday_features"


def prepare_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars plus xnys_bar_end: is event_timestamp a bar end within its session's hours."""
    frame = bars.reset_index(drop=True).copy()
    sessions = pd.to_datetime(frame["session"], errors="coerce") if "session" in frame else None
    stamps = frame.get("event_timestamp")
    usable = (sessions is not None and stamps is not None and not isinstance(sessions.dtype, pd.DatetimeTZDtype)
              and isinstance(stamps.dtype, pd.DatetimeTZDtype))
    ok = pd.Series(False, index=frame.index)
    if usable:
        known = sessions.notna() & stamps.notna()
        if known.any():
            ok[known] = is_bar_end(sessions[known], stamps[known])
    frame[BAR_END] = ok.astype(bool)
    for column in ("event_timestamp", "created_timestamp"):
        if column in frame and not isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            # A naive instant has no defined moment: blank it so the rules report the row.
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    return frame


def gate_intraday_bars(bars: pd.DataFrame) -> GateResult:
    """Split bars into accepted and rejected (with the failed rules as `reason`)."""
    started = time.perf_counter()
    original = bars.drop(columns=[BAR_END], errors="ignore").reset_index(drop=True)
    return gate_rows(BARS_SUITE, original, prepare_bars(original), started)
