"""FeatureSpec: the single list every other part of the platform is derived from.

The Feast schemas (feature_repo/), the batch computation (compute.py), the validation
bounds (expectations/) and docs/features.md all read FEATURES. Adding a feature is one
entry here plus one vectorized function in functions.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stockfeatures.features import functions as fn

if TYPE_CHECKING:
    import pandas as pd

    from stockfeatures.features.panel import PricePanel

# Feature views group features that are read together; both read the features_daily table.
RETURNS_VIEW = "returns_daily"
RISK_VIEW = "risk_daily"

MOMENTUM_SERVICE = "momentum_v1"
RISK_SERVICE = "risk_v1"


@dataclass(frozen=True)
class FeatureSpec:
    """One daily, per-ticker feature.

    lookback: sessions of the ticker's own history (today included) needed before the value
    is defined; rows earlier than that are NaN (the warm-up window), never back-filled.
    warm_up_with_benchmark: the lookback counts only consecutive sessions the ticker shares
    with the benchmark (a cross-asset feature such as beta_60d), not its whole history: a
    stock listed before its benchmark is in warm-up until they overlap long enough.
    valid_min/valid_max: inclusive bounds any correct value lies within; validation rejects
    values outside them.
    """

    name: str
    description: str
    formula: str
    lookback: int
    valid_min: float
    valid_max: float
    view: str
    compute: Callable[[PricePanel], pd.Series] = field(repr=False, compare=False)
    services: tuple[str, ...] = ()
    dtype: str = "float64"
    cross_sectional: bool = False
    # True when a full window can still give NaN (volume_z_20 on constant volume); validation
    # then allows nulls after warm-up for this feature only.
    nan_after_warm_up: bool = False
    warm_up_with_benchmark: bool = False
    # The feature is the per-session percentile rank (functions.percentile_rank_by_session) of
    # this other feature: features/distributed.py ranks it in its by-session pass.
    ranks: str | None = None


# An index's "volume" is the shares traded in all its members: close x volume of ^IXIC
# passed 1.7e13 in 2018 (arch's nasdaq data), so 1e13 rejected real data; 1e15 leaves room.
_DOLLAR_VOLUME_MAX = 1e15

# volume_z_20 is bounded: a z-score of one point in a window of n is at most (n-1)/sqrt(n).
_Z20_BOUND = 19 / math.sqrt(20)

FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "ret_1d", "One-session return", "close_t / close_{t-1} - 1", 2, -1.0, 10.0,
        RETURNS_VIEW, fn.ret_1d,
    ),
    FeatureSpec(
        "ret_5d", "Five-session return", "close_t / close_{t-5} - 1", 6, -1.0, 20.0,
        RETURNS_VIEW, fn.ret_5d, (MOMENTUM_SERVICE,),
    ),
    FeatureSpec(
        "ret_20d", "Twenty-session return", "close_t / close_{t-20} - 1", 21, -1.0, 50.0,
        RETURNS_VIEW, fn.ret_20d, (MOMENTUM_SERVICE,),
    ),
    FeatureSpec(
        "vol_20d", "Annualized 20-session volatility",
        "sample std (ddof=1) of ln(close_i / close_{i-1}) over the last 20 sessions x sqrt(252)",
        21, 0.0, 20.0, RISK_VIEW, fn.vol_20d, (MOMENTUM_SERVICE, RISK_SERVICE),
    ),
    FeatureSpec(
        "vol_60d", "Annualized 60-session volatility",
        "sample std (ddof=1) of ln(close_i / close_{i-1}) over the last 60 sessions x sqrt(252)",
        61, 0.0, 20.0, RISK_VIEW, fn.vol_60d, (RISK_SERVICE,),
    ),
    FeatureSpec(
        "mom_12_1", "12-1 month momentum (skips the latest month)",
        "close_{t-21} / close_{t-252} - 1", 253, -1.0, 1000.0,
        RETURNS_VIEW, fn.mom_12_1, (MOMENTUM_SERVICE,),
    ),
    FeatureSpec(
        "ma_gap_20d", "Distance from the 20-session moving average",
        "close_t / mean(close over the last 20 sessions) - 1", 20, -1.0, 20.0,
        RETURNS_VIEW, fn.ma_gap_20d, (MOMENTUM_SERVICE,),
    ),
    FeatureSpec(
        "rsi_14", "Relative strength index, Wilder smoothing",
        "100 - 100 / (1 + EWM_up / EWM_down), EWM with alpha = 1/14 and 14-session warm-up, "
        "exactly as ta.momentum.RSIIndicator(window=14)",
        15, 0.0, 100.0, RETURNS_VIEW, fn.rsi_14, (MOMENTUM_SERVICE,),
    ),
    FeatureSpec(
        "natr_14", "Normalized average true range",
        "ATR(14) as ta.volatility.AverageTrueRange(window=14) computes it, divided by close_t",
        14, 0.0, 10.0, RISK_VIEW, fn.natr_14, (RISK_SERVICE,),
    ),
    FeatureSpec(
        "volume_z_20", "Volume z-score against the last 20 sessions",
        "(volume_t - mean(volume, last 20)) / std(volume, last 20, ddof=1); "
        "NaN when the 20 volumes are all equal",
        20, -_Z20_BOUND, _Z20_BOUND, RISK_VIEW, fn.volume_z_20, nan_after_warm_up=True,
    ),
    FeatureSpec(
        "drawdown_252", "Drawdown from the 252-session high",
        "close_t / max(close over the last 252 sessions) - 1", 252, -1.0, 0.0,
        RETURNS_VIEW, fn.drawdown_252, (RISK_SERVICE,),
    ),
    FeatureSpec(
        "gap_1d", "Overnight gap", "open_t / close_{t-1} - 1", 2, -1.0, 10.0,
        RETURNS_VIEW, fn.gap_1d,
    ),
    FeatureSpec(
        "beta_60d", "60-session beta to the benchmark ticker (SPY by default)",
        "cov(r, r_bench) / var(r_bench), both ddof=1, over the ticker's last 60 returns "
        "r_i = close_i / close_{i-1} - 1, each paired with the benchmark's return over the same "
        "interval (benchmark close at bar i / at bar i-1's session - 1); NaN unless all 60 pairs "
        "exist; warm-up counts sessions shared with the benchmark",
        61, -50.0, 50.0, RISK_VIEW, fn.beta_60d, (RISK_SERVICE,), cross_sectional=True,
        warm_up_with_benchmark=True,
    ),
    FeatureSpec(
        "dollar_volume_20d", "Average daily dollar volume (raw, unadjusted prices)",
        "mean(raw_close x raw_volume over the last 20 sessions)", 20, 0.0, _DOLLAR_VOLUME_MAX,
        RISK_VIEW, fn.dollar_volume_20d, (RISK_SERVICE,),
    ),
    FeatureSpec(
        "mom_12_1_rank", "Cross-sectional percentile rank of mom_12_1",
        "rank of mom_12_1 among tickers with a value on the same session / their count, "
        "in (0, 1], ties get the average rank",
        253, 0.0, 1.0, RETURNS_VIEW, fn.mom_12_1_rank, (MOMENTUM_SERVICE,), cross_sectional=True,
        ranks="mom_12_1",
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)
MAX_LOOKBACK: int = max(spec.lookback for spec in FEATURES)


def spec_by_name(name: str) -> FeatureSpec:
    for spec in FEATURES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown feature {name!r}; known: {', '.join(FEATURE_NAMES)}")


def features_in_view(view: str) -> tuple[FeatureSpec, ...]:
    return tuple(spec for spec in FEATURES if spec.view == view)


def features_in_service(service: str) -> tuple[FeatureSpec, ...]:
    return tuple(spec for spec in FEATURES if service in spec.services)


def view_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec.view for spec in FEATURES))


def service_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for spec in FEATURES for s in spec.services))
