"""Request-time transformations for Feast on-demand feature views.

They live in the library (not in feature_repo/) so the pickled UDF in the registry resolves
wherever stockfeatures is installed: the feature server, a Prefect worker, a notebook.
Feast may rebuild a UDF from its source text alone, so each function is self-contained:
imports and column names inside the body, no module globals.
"""

from __future__ import annotations

import pandas as pd

TARGET_VOL_FIELD = "target_annual_vol"
WEIGHT_FIELD = "vol_target_weight"


def vol_target_sizing(inputs: "pd.DataFrame") -> "pd.DataFrame":  # noqa: UP037 (source is exec-ed)
    """Position weight that scales a ticker to the requested annualized volatility.

    weight = target_annual_vol / vol_20d; NaN (not inf) when vol_20d is missing or zero,
    so a strategy never sizes a position off a degenerate estimate.
    """
    import numpy as np
    import pandas as pd

    vol = pd.to_numeric(inputs["vol_20d"], errors="coerce").astype("float64")
    target = pd.to_numeric(inputs["target_annual_vol"], errors="coerce").astype("float64")
    usable = vol.gt(0) & np.isfinite(vol)
    out = pd.DataFrame(index=inputs.index)
    out["vol_target_weight"] = (target / vol.where(usable)).astype("float64")
    return out
