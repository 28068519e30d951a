"""Edge cases of the feature definitions: gaps, volume oddities, splits, warm-up, ranks."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features import compute_features
from stockfeatures.features.spec import FEATURES, spec_by_name
from stockfeatures.trading_calendar import session_close
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars, several_tickers

PER_TICKER = [spec.name for spec in FEATURES if not spec.cross_sectional]


def rows_of(features: pd.DataFrame, ticker: str) -> pd.DataFrame:
    return features[features["ticker"] == ticker].reset_index(drop=True)


def test_halted_session_is_skipped_not_filled():
    full = random_walk_bars("HALT", SESSIONS[:300], seed=3)
    halted = full.drop(index=150).reset_index(drop=True)

    out = rows_of(compute_features(halted, benchmark="SPY"), "HALT")

    assert len(out) == 299  # no row invented for the missing session
    assert session_close([SESSIONS[150]])[0] not in set(out["event_timestamp"])
    # The bar after the halt compares with the last bar before it, not with a filled value.
    after = out.index[out["event_timestamp"] == session_close([SESSIONS[151]])[0]][0]
    assert out.loc[after, "ret_1d"] == pytest.approx(full.loc[151, "close"] / full.loc[149, "close"] - 1)


def test_windows_count_observed_bars_so_a_gap_changes_nothing_but_dates():
    """Features of a halted ticker equal those of the same bars on consecutive sessions."""
    halted = random_walk_bars("HALT", SESSIONS[:300], seed=4).drop(index=[80, 81, 200])
    consecutive = halted.copy()
    consecutive["session"] = SESSIONS[: len(halted)]
    consecutive["event_timestamp"] = session_close(consecutive["session"])
    consecutive["created_timestamp"] = consecutive["event_timestamp"]

    with_gap = compute_features(halted, benchmark="SPY")[PER_TICKER]
    without_gap = compute_features(consecutive, benchmark="SPY")[PER_TICKER]

    pd.testing.assert_frame_equal(with_gap, without_gap)


def test_zero_volume_days_are_valid_and_a_lone_spike_hits_the_z_bound():
    bars = random_walk_bars("ZERO", SESSIONS[:60], seed=5)
    bars.loc[10:29, ["volume", "raw_volume"]] = 0.0
    bars.loc[30, ["volume", "raw_volume"]] = 1_000.0

    out = compute_features(bars, benchmark="SPY")

    assert math.isnan(out.loc[29, "volume_z_20"])  # twenty zero-volume days: no spread
    spec = spec_by_name("volume_z_20")
    spike = out.loc[30, "volume_z_20"]  # nineteen zeros and one spike
    assert spike == pytest.approx((20 - 1) / math.sqrt(20))
    assert spec.valid_min <= spike <= spec.valid_max
    assert out.loc[39, "dollar_volume_20d"] == pytest.approx(
        (bars["raw_close"][20:40] * bars["raw_volume"][20:40]).mean()
    )


def test_volume_z_is_nan_while_volume_is_constant():
    bars = random_walk_bars("FLAT", SESSIONS[:50], seed=6)
    bars[["volume", "raw_volume"]] = 5_000.0
    bars.loc[45, ["volume", "raw_volume"]] = 7_000.0

    z = compute_features(bars, benchmark="SPY")["volume_z_20"]

    assert z[:45].isna().all()
    assert z[45:].notna().all()  # a window holding the one different volume is defined


def test_back_adjusted_split_changes_no_feature_and_dollar_volume_reads_raw_columns():
    plain = random_walk_bars("PLN", SESSIONS[:300], seed=8)
    split = plain.copy()
    split["ticker"] = "SPL"
    before = split.index < 150  # 4-for-1 split effective on bar 150
    split.loc[before, "raw_close"] *= 4.0
    split.loc[before, "raw_volume"] /= 4.0

    out = compute_features(pd.concat([plain, split], ignore_index=True), benchmark="PLN")
    a, b = rows_of(out, "PLN"), rows_of(out, "SPL")

    pd.testing.assert_frame_equal(a[PER_TICKER], b[PER_TICKER], rtol=1e-12)
    traded = split["raw_close"] * split["raw_volume"]
    assert b.loc[160, "dollar_volume_20d"] == pytest.approx(traded[141:161].mean(), rel=1e-12)


def test_dollar_volume_uses_raw_not_adjusted_prices():
    bars = random_walk_bars("DIV", SESSIONS[:40], seed=9)
    bars["raw_close"] = bars["close"] * 1.25  # adjusted prices lowered by later dividends

    out = compute_features(bars, benchmark="SPY")

    assert out.loc[30, "dollar_volume_20d"] == pytest.approx(
        (bars["raw_close"][11:31] * bars["raw_volume"][11:31]).mean(), rel=1e-12
    )
    assert out.loc[30, "ret_1d"] == pytest.approx(bars["close"][30] / bars["close"][29] - 1)


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.name)
def test_first_defined_row_is_lookback_minus_one(spec):
    bars = several_tickers(seed=21)
    out = compute_features(bars, benchmark="SPY")
    checked = 0
    for ticker, rows in out.groupby("ticker"):
        values = rows[spec.name].to_numpy()
        if len(values) < spec.lookback:
            assert np.isnan(values).all(), f"{ticker} is too short for {spec.name}"
            continue
        assert np.isnan(values[: spec.lookback - 1]).all(), ticker
        assert not np.isnan(values[spec.lookback - 1:]).any(), ticker
        checked += 1
    assert checked >= 2


def _walk_scaled(ticker: str, base: pd.DataFrame, scale: float) -> pd.DataFrame:
    scaled = base.copy()
    scaled["ticker"] = ticker
    for column in ("open", "high", "low", "close", "raw_close"):
        scaled[column] *= scale
    return scaled


def test_tied_momentum_gets_the_average_percentile_rank():
    base = random_walk_bars("TIE1", SESSIONS[:260], seed=10)
    other = random_walk_bars("OTHER", SESSIONS[:260], seed=12)
    bars = pd.concat([
        base,
        _walk_scaled("TIE2", base, 2.0),  # powers of two keep every ratio bit-identical
        _walk_scaled("TIE3", base, 0.5),
        other,
    ], ignore_index=True)

    out = compute_features(bars, benchmark="TIE1")
    last = out[out["event_timestamp"] == out["event_timestamp"].max()].set_index("ticker")

    tie_rank = last.loc["TIE1", "mom_12_1_rank"]
    assert last.loc[["TIE1", "TIE2", "TIE3"], "mom_12_1"].nunique() == 1
    assert (last.loc[["TIE2", "TIE3"], "mom_12_1_rank"] == tie_rank).all()
    other_is_higher = last.loc["OTHER", "mom_12_1"] > last.loc["TIE1", "mom_12_1"]
    assert tie_rank == (2 / 4 if other_is_higher else 3 / 4)  # ranks 1,2,3 or 2,3,4 averaged
    assert last.loc["OTHER", "mom_12_1_rank"] == (1.0 if other_is_higher else 0.25)


def test_rank_counts_only_tickers_with_momentum_that_session():
    bars = several_tickers(seed=13)
    out = compute_features(bars, benchmark="SPY")
    for _, session_rows in out.groupby("event_timestamp"):
        defined = session_rows["mom_12_1"].notna()
        assert session_rows.loc[~defined, "mom_12_1_rank"].isna().all()
        if defined.any():
            assert session_rows.loc[defined, "mom_12_1_rank"].max() == 1.0


def test_missing_benchmark_gives_nan_beta_and_a_warning(caplog):
    bars = several_tickers(seed=14)
    with caplog.at_level(logging.WARNING, logger="stockfeatures.features.compute"):
        out = compute_features(bars, benchmark="QQQ")
    assert out["beta_60d"].isna().all()
    assert any("QQQ" in record.getMessage() for record in caplog.records)
    with_spy = compute_features(bars, benchmark="SPY")
    others = [name for name in PER_TICKER if name != "beta_60d"]
    pd.testing.assert_frame_equal(out[others], with_spy[others])


def test_benchmark_defaults_to_the_configured_ticker(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_BENCHMARK_TICKER", "AAA")
    out = compute_features(several_tickers(seed=15))
    assert (out.loc[out["ticker"] == "AAA", "beta_60d"].dropna() == 1.0).all()
    assert out.loc[out["ticker"] == "SPY", "beta_60d"].notna().any()


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_every_value_lies_within_its_spec_bounds(seed):
    bars = several_tickers(seed=seed, daily_vol=0.05)
    # Zero-volume stretches push volume_z_20 to its theoretical extreme.
    bars.loc[bars.index[5:40], ["volume", "raw_volume"]] = 0.0
    bars.loc[bars.index[40], ["volume", "raw_volume"]] = 10.0
    out = compute_features(bars, benchmark="SPY")
    for spec in FEATURES:
        values = out[spec.name].dropna()
        assert len(values) > 0, spec.name
        assert values.between(spec.valid_min, spec.valid_max).all(), (
            f"{spec.name} outside [{spec.valid_min}, {spec.valid_max}]: {values.min()}..{values.max()}"
        )


def test_row_order_of_the_input_does_not_matter():
    bars = several_tickers(seed=16)
    shuffled = bars.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        compute_features(bars, benchmark="SPY"), compute_features(shuffled, benchmark="SPY")
    )


def test_empty_bars_give_an_empty_frame_with_every_column():
    empty = several_tickers(seed=17).iloc[:0]
    out = compute_features(empty, benchmark="SPY")
    assert out.empty
    assert list(out.columns)[3:] == [spec.name for spec in FEATURES]
