"""The intraday gates (Great Expectations): 5-minute bars before storage, features before push.

Bars: expectations/intraday_bars.json (market rules, hand-written like raw_prices.json), with
one helper column, xnys_bar_end, from the calendar. A rejected bar goes to quarantine alone:
unlike daily bars, the ticker's later bars are not withheld, because intraday windows count
session slots (stockfeatures.intraday.spec), so a missing bar makes the windows over it NaN
instead of silently stretching them.

Features: a suite built from IntradayFeatureSpec on every call (valid_min/valid_max per
feature; NaN is allowed, a warm-up or a window over a missing bar). A rejected row is not
pushed, so the online store keeps the ticker's last good value.
"""

from __future__ import annotations

import time

import pandas as pd

from stockfeatures.intraday.market_hours import is_bar_end
from stockfeatures.intraday.spec import INTRADAY_FEATURES
from stockfeatures.validation.gate import GateResult, gate_rows

BARS_SUITE = "intraday_bars"
FEATURES_SUITE = "features_intraday"
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


def features_suite_document() -> dict:
    expectations = []
    for spec in INTRADAY_FEATURES:
        expectations.append({
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": spec.name, "min_value": spec.valid_min, "max_value": spec.valid_max},
            "meta": {"rule": f"{spec.name} outside [{spec.valid_min:g}, {spec.valid_max:g}]"},
        })
    for column in ("ticker", "event_timestamp", "created_timestamp"):
        expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": column},
                             "meta": {"rule": f"{column} is missing"}})
    return {"name": FEATURES_SUITE, "meta": {"generated_from": "IntradayFeatureSpec"},
            "expectations": expectations}


def gate_intraday_features(features: pd.DataFrame) -> GateResult:
    started = time.perf_counter()
    frame = features.reset_index(drop=True)
    return gate_rows(FEATURES_SUITE, frame, frame, started, features_suite_document())
