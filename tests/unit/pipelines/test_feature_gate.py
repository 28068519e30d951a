"""The features_daily suite is generated from FeatureSpec and enforces bounds and warm-up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURES
from stockfeatures.validation import feature_suite, gate_features
from stockfeatures.validation.prepare import HISTORY_LENGTH


def feature_rows(n_sessions: int = 300, tickers=("AAPL", "MSFT")) -> pd.DataFrame:
    """Rows with every feature at a valid value once its warm-up is over, NaN before."""
    closes = pd.date_range("2024-01-02 21:00", periods=n_sessions, freq="B", tz="UTC")
    frames = []
    for ticker in tickers:
        frame = pd.DataFrame({"ticker": ticker, "event_timestamp": closes, "created_timestamp": closes})
        position = np.arange(1, n_sessions + 1)
        for spec in FEATURES:
            middle = (max(spec.valid_min, -1.0) + min(spec.valid_max, 1.0)) / 2
            frame[spec.name] = np.where(position >= spec.lookback, middle, np.nan)
        frame[HISTORY_LENGTH] = position
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def by_type(document, kind):
    return [e for e in document["expectations"] if e["type"] == kind]


def test_range_expectations_carry_the_feature_spec_bounds():
    ranges = {e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
              for e in by_type(feature_suite.suite_document(), "expect_column_values_to_be_between")}
    assert ranges == {spec.name: (spec.valid_min, spec.valid_max) for spec in FEATURES}


def test_a_changed_bound_in_feature_spec_changes_the_suite(monkeypatch):
    changed = tuple(dataclasses.replace(s, valid_max=0.5) if s.name == "rsi_14" else s for s in FEATURES)
    monkeypatch.setattr(feature_suite, "FEATURES", changed)
    rsi = [e for e in by_type(feature_suite.suite_document(), "expect_column_values_to_be_between")
           if e["kwargs"]["column"] == "rsi_14"]
    assert rsi[0]["kwargs"]["max_value"] == 0.5


def test_warm_up_rule_uses_each_feature_lookback():
    conditions = {e["kwargs"]["column"]: e["kwargs"]["row_condition"]["parameter"]
                  for e in by_type(feature_suite.suite_document(), "expect_column_values_to_not_be_null")
                  if "row_condition" in e["kwargs"]}
    expected = {s.name: s.lookback for s in FEATURES if not s.nan_after_warm_up}
    assert conditions == expected
    assert "volume_z_20" not in conditions  # its formula defines NaN on constant volume


def test_expectations_file_matches_feature_spec():
    assert feature_suite.main(["--check"]) == 0, "run: python -m stockfeatures.validation suite"


def test_valid_rows_with_nan_only_in_warm_up_pass():
    result = gate_features(feature_rows())
    assert result.passed, result.error()
    assert HISTORY_LENGTH not in result.accepted


def test_value_outside_its_range_is_rejected():
    rows = feature_rows()
    rows.loc[280, "rsi_14"] = 130.0
    result = gate_features(rows)
    assert result.rejected_tickers == [rows.loc[280, "ticker"]]
    assert result.rejected["reason"].str.contains("rsi_14 outside its valid range [0, 100]", regex=False).any()


@pytest.mark.parametrize("position, rejected", [(5, False), (200, True)])
def test_nan_is_allowed_only_inside_the_warm_up_window(position, rejected):
    rows = feature_rows()
    rows.loc[position, "ret_20d"] = np.nan
    result = gate_features(rows)
    assert (not result.passed) is rejected
    if rejected:
        assert result.rejected["reason"].str.contains("ret_20d is NaN after its 21-session warm-up").any()


def test_infinite_value_is_rejected():
    rows = feature_rows()
    rows.loc[250, "ret_1d"] = np.inf
    assert not gate_features(rows).passed


def _null_rule_columns(document) -> dict[str, str]:
    return {e["kwargs"]["column"]: e["kwargs"]["row_condition"]["column"]["name"]
            for e in by_type(document, "expect_column_values_to_not_be_null") if "row_condition" in e["kwargs"]}


def test_beta_warm_up_counts_sessions_shared_with_the_benchmark():
    counted = _null_rule_columns(feature_suite.suite_document())
    assert counted["beta_60d"] == "benchmark_overlap"
    assert {c for name, c in counted.items() if name != "beta_60d"} == {HISTORY_LENGTH}


def test_first_pass_suite_leaves_out_the_cross_sectional_features():
    document = feature_suite.suite_document(cross_sectional=False)
    checked = {e["kwargs"].get("column") for e in document["expectations"]}
    assert "beta_60d" not in checked and "mom_12_1_rank" not in checked
    assert {s.name for s in FEATURES if not s.cross_sectional} <= checked


def test_a_failing_feature_row_is_rejected_alone():
    rows = feature_rows()
    rows.loc[250, "ret_1d"] = 50.0
    result = gate_features(rows)
    assert list(result.rejected.index) == [250]
    assert len(result.accepted) == len(rows) - 1


def test_a_missing_feature_column_rejects_the_whole_batch():
    # GX 1.x reports a metric that raised under its metric id, not at the top level of
    # exception_info; the gate must still see the crash and condemn every row.
    rows = feature_rows().drop(columns=["ret_5d"])
    result = gate_features(rows)
    assert not result.passed
    assert len(result.rejected) == len(rows) and result.accepted.empty
    assert result.rejected["reason"].str.contains("ret_5d outside its valid range", regex=False).all()
