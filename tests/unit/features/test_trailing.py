"""trailing() gives exactly what pandas' rolling gives column by column (features/trailing.py).

Bit-identical, not close: stored features are compared with their latest version on every
recompute, so a last-bit change would re-store every row as a new version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockfeatures.features.trailing import trailing

STATISTICS = [("mean", {}), ("var", {"ddof": 1}), ("std", {"ddof": 1}), ("sum", {}), ("max", {})]


def _per_column(wide: np.ndarray, window: int, statistic: str, min_periods: int | None, **options):
    rolling = pd.DataFrame(wide, copy=False).rolling(
        window, min_periods=window if min_periods is None else min_periods)
    return getattr(rolling, statistic)(**options).to_numpy()


def _panel_like(seed: int, depth: int, columns: int) -> np.ndarray:
    """Prices with holes and NaN padding after each column's own end, as PricePanel lays out."""
    rng = np.random.default_rng(seed)
    wide = 100.0 + np.cumsum(rng.normal(size=(depth, columns)), axis=0)
    wide[rng.random(wide.shape) < 0.03] = np.nan
    for column in range(columns):
        wide[depth - int(rng.integers(0, depth + 1)):, column] = np.nan
    return wide


@pytest.mark.parametrize(("statistic", "options"), STATISTICS)
@pytest.mark.parametrize("window", [1, 3, 20, 60, 252])
def test_trailing_is_bit_identical_to_rolling_each_column(statistic, options, window):
    wide = _panel_like(7, 300, 40)
    expected = _per_column(wide, window, statistic, None, **options)
    assert np.array_equal(trailing(wide, window, statistic, **options), expected, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 40), columns=st.integers(1, 6),
       window=st.integers(1, 45), min_periods=st.one_of(st.none(), st.integers(1, 45)),
       statistic=st.sampled_from(STATISTICS))
def test_windows_never_reach_into_the_previous_column(seed, depth, columns, window, min_periods, statistic):
    name, options = statistic
    min_periods = None if min_periods is None else min(min_periods, window)
    wide = _panel_like(seed, depth, columns)
    expected = _per_column(wide, window, name, min_periods, **options)
    got = trailing(wide, window, name, min_periods=min_periods, **options)
    assert got.shape == wide.shape
    assert np.array_equal(got, expected, equal_nan=True)


def test_an_empty_array_gives_an_empty_result():
    assert trailing(np.empty((0, 3)), 20, "mean").shape == (0, 3)
