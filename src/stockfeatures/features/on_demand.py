"""Request-time transformations for Feast on-demand feature views.

They live in the library (not in feature_repo/) so the pickled UDF in the registry resolves
wherever stockfeatures is installed: the feature server, a Prefect worker, a notebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET_VOL_FIELD = "target_annual_vol"
WEIGHT_FIELD = "vol_target_weight"
VOL_INPUT = "vol_20d"


def vol_target_sizing(inputs: pd.DataFrame) -> pd.DataFrame:
    """Position weight that scales a ticker to the requested annualized volatility.

    weight = target_annual_vol / vol_20d; NaN (not inf) when vol_20d is missing or zero,
    so a strategy never sizes a position off a degenerate estimate.
    """
    vol = inputs[VOL_INPUT].astype("float64")
    target = inputs[TARGET_VOL_FIELD].astype("float64")
    usable = vol.gt(0) & np.isfinite(vol)
    out = pd.DataFrame(index=inputs.index)
    out[WEIGHT_FIELD] = (target / vol.where(usable)).astype("float64")
    return out
