"""The on-demand sizing transform, including the text Feast recompiles it from."""

import inspect

import numpy as np
import pandas as pd

from stockfeatures.features.on_demand import vol_target_sizing


def test_weight_scales_position_to_target_vol():
    out = vol_target_sizing(pd.DataFrame({"vol_20d": [0.30, 0.10], "target_annual_vol": [0.15, 0.15]}))
    np.testing.assert_allclose(out["vol_target_weight"], [0.5, 1.5])


def test_missing_or_zero_vol_gives_no_weight_rather_than_infinity():
    out = vol_target_sizing(pd.DataFrame({"vol_20d": [0.0, None], "target_annual_vol": [0.15, 0.15]}))
    assert out["vol_target_weight"].isna().all()


def test_udf_runs_from_its_source_text_alone():
    namespace: dict = {}
    exec(inspect.getsource(vol_target_sizing), namespace)  # what Feast does with udf_string
    out = namespace["vol_target_sizing"](pd.DataFrame({"vol_20d": [0.2], "target_annual_vol": [0.1]}))
    assert out["vol_target_weight"].iloc[0] == 0.5
