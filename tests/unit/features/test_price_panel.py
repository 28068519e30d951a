"""PricePanel lays each ticker's own bars out as consecutive observations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.features import PricePanel
from stockfeatures.features.spec import FEATURES
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars


def _bars() -> pd.DataFrame:
    late = random_walk_bars("LATE", SESSIONS[5:12], seed=1).drop(index=3)  # halted once
    early = random_walk_bars("EARLY", SESSIONS[:10], seed=2)
    return pd.concat([late, early], ignore_index=True).sample(frac=1.0, random_state=0)


def test_observation_numbers_count_each_tickers_own_bars():
    panel = PricePanel.from_bars(_bars(), benchmark="EARLY")
    assert list(panel.tickers) == ["EARLY", "LATE"]
    assert panel.shape == (10, 2)
    late = panel.rows["ticker"] == "LATE"
    assert list(panel.observation[late.to_numpy()]) == list(range(6))
    assert panel.rows.loc[late, "session"].is_monotonic_increasing


def test_wide_column_holds_bars_in_session_order_padded_with_nan():
    bars = _bars()
    panel = PricePanel.from_bars(bars, benchmark="EARLY")
    late_closes = bars[bars["ticker"] == "LATE"].sort_values("session")["close"].to_numpy()
    wide = panel.wide("close")
    np.testing.assert_array_equal(wide[:6, 1], late_closes)
    assert np.isnan(wide[6:, 1]).all()


def test_to_rows_inverts_the_wide_layout():
    panel = PricePanel.from_bars(_bars(), benchmark="EARLY")
    back = panel.to_rows(panel.wide("volume"))
    np.testing.assert_array_equal(back.to_numpy(), panel.rows["volume"].to_numpy())


def test_every_spec_returns_a_series_aligned_with_the_panel_rows():
    panel = PricePanel.from_bars(_bars(), benchmark="EARLY")
    for spec in FEATURES:
        values = spec.compute(panel)
        assert isinstance(values, pd.Series), spec.name
        assert values.index.equals(panel.index), spec.name
        assert values.dtype == "float64", spec.name
