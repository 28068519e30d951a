"""Intraday feature math: one vectorized function per IntradayFeatureSpec (bars in, Series out).

Placeholder signatures; the implementations land with the intraday computation.
This module must not import spec.py (spec imports it).
"""

from __future__ import annotations

import pandas as pd


def _pending(bars: pd.DataFrame) -> pd.Series:
    raise NotImplementedError("intraday feature math is not implemented yet")


ret_5m = ret_30m = ret_since_open = realized_vol_1h = vwap_gap = volume_tod_ratio = range_30m = _pending
