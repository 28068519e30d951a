"""Feature definitions (spec) and their vectorized batch computation (compute)."""

from stockfeatures.features.compute import (
    compute_features,
    feature_columns,
    feature_rows,
    knowledge_times,
)
from stockfeatures.features.panel import (
    DuplicateBars,
    InvalidBars,
    InvalidPrices,
    PricePanel,
    validate_bars,
)

__all__ = [
    "DuplicateBars",
    "InvalidBars",
    "InvalidPrices",
    "PricePanel",
    "compute_features",
    "feature_columns",
    "feature_rows",
    "knowledge_times",
    "validate_bars",
]
