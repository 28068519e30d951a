"""stages.compute.compute on real stores (the parquet warehouse): what one bad value, or a benchmark that
starts later than a stock, does to what gets stored (issue 10, finding 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.stages import compute
from stockfeatures.storage.parquet_warehouse import ParquetWarehouse
from stockfeatures.validation import ValidationFailed
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars


def _raw(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["raw_close", "raw_volume"])


def _spike(frame: pd.DataFrame, at: int, factor: float) -> pd.DataFrame:
    """A bar whose close (and high) jumps `factor` times: plausible to the raw gate, but its
    ret_1d lies outside FeatureSpec's [-1, 10]."""
    frame = frame.copy()
    frame.loc[at, ["close", "high"]] = frame.loc[at, "close"] * factor
    frame.loc[at, "high"] = frame.loc[at, ["open", "close", "high"]].max()
    return frame


@pytest.fixture()
def warehouse(tmp_path):
    store = ParquetWarehouse(tmp_path / "warehouse")
    store.migrate()
    return store


def test_history_older_than_the_benchmark_is_stored_whole(warehouse):
    warehouse.write_bars(_raw(pd.concat([
        random_walk_bars("OLD", SESSIONS[:400], seed=1),
        random_walk_bars("SPY", SESSIONS[150:400], seed=2, daily_vol=0.01, start_price=400.0),
    ], ignore_index=True)))
    report = compute.compute(warehouse, "SPY")
    assert report.inserted == 650
    stored = warehouse.read_features(tickers=["OLD"]).sort_values("event_timestamp")
    beta = stored["beta_60d"].to_numpy()
    assert np.isnan(beta[:150 + 60]).all() and np.isfinite(beta[150 + 60:]).all()
    assert warehouse.read_quarantine().empty


def test_one_bad_value_rejects_that_row_not_the_tickers_history(warehouse):
    bad_at = 300
    warehouse.write_bars(_raw(pd.concat([
        _spike(random_walk_bars("AAA", SESSIONS[:400], seed=1), bad_at, 12.0),
        random_walk_bars("SPY", SESSIONS[:400], seed=2, daily_vol=0.01, start_price=400.0),
    ], ignore_index=True)))
    with pytest.raises(ValidationFailed, match="ret_1d outside its valid range"):
        compute.compute(warehouse, "SPY")
    quarantined = warehouse.read_quarantine("features_daily")
    assert len(quarantined) == 1
    assert "ret_1d outside its valid range" in quarantined["reason"].iloc[0]
    stored = warehouse.read_features(tickers=["AAA"])
    assert len(stored) == 399
    assert SESSIONS[bad_at] not in set(stored["event_timestamp"].dt.tz_convert("America/New_York")
                                       .dt.tz_localize(None).dt.normalize())


def test_cross_sectional_values_are_computed_from_accepted_rows_only(warehouse):
    bad_at = 300
    parts = [random_walk_bars(t, SESSIONS[:400], seed=s) for t, s in (("AAA", 1), ("BBB", 3), ("CCC", 4))]
    parts[2] = _spike(parts[2], bad_at, 12.0)
    spy = _spike(random_walk_bars("SPY", SESSIONS[:400], seed=2, daily_vol=0.01, start_price=400.0),
                 bad_at, 12.0)
    warehouse.write_bars(_raw(pd.concat([*parts, spy], ignore_index=True)))
    with pytest.raises(ValidationFailed):
        compute.compute(warehouse, "SPY")
    rejected = warehouse.read_quarantine("features_daily")
    assert sorted(rejected["ticker"]) == ["CCC", "SPY"]
    stored = warehouse.read_features()
    on_bad_day = stored[stored["event_timestamp"] == spy.loc[bad_at, "event_timestamp"]].set_index("ticker")
    # Ranked among the two accepted tickers only, not among four.
    assert sorted(on_bad_day["mom_12_1_rank"].dropna()) == [0.5, 1.0]
    # The benchmark's bar that day was quarantined: no beta is computed from it.
    assert on_bad_day["beta_60d"].isna().all()
