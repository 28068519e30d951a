"""IntradayFeatureSpec: the single list the intraday tier is derived from.

The Feast schema of the intraday view and its push source (feature_repo/), the
computation (functions.py), the validation bounds and docs/features.md all read
INTRADAY_FEATURES, as the daily tier reads stockfeatures.features.spec.FEATURES.

A 5-minute bar covers [bar_start, bar_start + 5 min) of one regular session and is known
at its end: its event_timestamp is that end (09:30-09:35 New York is stamped 09:35:00), and
a bar that has not ended is never stored. Windows count 5-minute slots of the session
clock, not stored rows, so a missing bar makes every window that spans it NaN rather than
silently stretching the window back in time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from stockfeatures.intraday import functions as fn

if TYPE_CHECKING:
    import pandas as pd

    from stockfeatures.intraday.grid import IntradayGrid

BAR_LENGTH = timedelta(minutes=5)
INTRADAY_VIEW = "intraday_5m"
INTRADAY_SERVICE = "intraday_v1"
INTRADAY_PUSH_SOURCE = "intraday_push"


@dataclass(frozen=True)
class IntradayFeatureSpec:
    """One intraday, per-ticker feature computed on 5-minute bars.

    lookback_slots: 5-minute slots of the same session (the current one included) the value
    needs; 0 means the feature needs no in-session window (volume_tod_ratio looks across
    sessions instead, see its formula). since_open: the window runs from the session's
    first slot to the current one, whatever lookback_slots says. valid_min/valid_max:
    inclusive bounds any correct value lies within; validation rejects values outside them.
    nan_after_warm_up: the value may be NaN even with every bar of its window present
    (no volume yet, a zero mean), so validation checks only its range.
    """

    name: str
    description: str
    formula: str
    lookback_slots: int
    valid_min: float
    valid_max: float
    compute: Callable[[IntradayGrid], pd.Series] = field(repr=False, compare=False)
    view: str = INTRADAY_VIEW
    services: tuple[str, ...] = (INTRADAY_SERVICE,)
    dtype: str = "float64"
    nan_after_warm_up: bool = False
    since_open: bool = False


INTRADAY_FEATURES: tuple[IntradayFeatureSpec, ...] = (
    IntradayFeatureSpec(
        "ret_5m", "Return over the latest 5-minute bar",
        "close_t / close_{t-1} - 1, where t-1 is the previous 5-minute slot of the same "
        "session; NaN on the session's first bar or when that slot has no bar",
        2, -1.0, 10.0, fn.ret_5m,
    ),
    IntradayFeatureSpec(
        "ret_30m", "Return over the latest 30 minutes",
        "close_t / close_{t-6} - 1, t-6 being the slot 30 minutes earlier in the same session; "
        "NaN when that slot is before the open or has no bar",
        7, -1.0, 10.0, fn.ret_30m,
    ),
    IntradayFeatureSpec(
        "ret_since_open", "Return since the session's open",
        "close_t / open of the session's first slot (09:30 New York) - 1; NaN when the first "
        "slot has no bar",
        1, -1.0, 10.0, fn.ret_since_open, since_open=True,
    ),
    IntradayFeatureSpec(
        "realized_vol_1h", "Realized volatility over the latest hour (not annualized)",
        "sqrt(sum of r_i^2 over the last 12 slots), r_i = ln(close_i / close_{i-1}) between "
        "consecutive slots of the same session; NaN unless all 12 returns exist",
        13, 0.0, 10.0, fn.realized_vol_1h,
    ),
    IntradayFeatureSpec(
        "vwap_gap", "Distance from the session VWAP",
        "close_t / VWAP_t - 1, VWAP_t = sum((high + low + close) / 3 x volume) / sum(volume) "
        "over the session's bars up to t; NaN while the session's volume so far is 0",
        1, -1.0, 10.0, fn.vwap_gap, nan_after_warm_up=True, since_open=True,
    ),
    IntradayFeatureSpec(
        "volume_tod_ratio", "Volume against the same time of day",
        "volume_t / mean(volume of the same 5-minute slot (same New York time of day) in the 20 "
        "earlier sessions whose clock has that slot; a 13:00 close has no 13:00-16:00 slots and is "
        "skipped for them); NaN unless all 20 have a bar there, or when that mean is 0",
        0, 0.0, 1e6, fn.volume_tod_ratio, nan_after_warm_up=True,
    ),
    IntradayFeatureSpec(
        "range_30m", "High-low range over the latest 30 minutes",
        "(max(high) - min(low)) over the last 6 slots of the same session / close_t; NaN unless "
        "all 6 slots have a bar",
        6, 0.0, 10.0, fn.range_30m,
    ),
)

INTRADAY_FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in INTRADAY_FEATURES)
TOD_SESSIONS = fn.TOD_SESSIONS


def intraday_spec_by_name(name: str) -> IntradayFeatureSpec:
    for spec in INTRADAY_FEATURES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown intraday feature {name!r}; known: {', '.join(INTRADAY_FEATURE_NAMES)}")
