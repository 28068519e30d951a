"""The features_intraday suite: derived from the spec, checked in, and rejecting what it should."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockfeatures import feature_docs
from stockfeatures.intraday import validation
from stockfeatures.intraday.compute import compute_intraday_features
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.spec import INTRADAY_FEATURES
from tests.unit.intraday.synthetic import session_bars, sessions

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def rows():
    days = sessions("2024-11-25", 2)
    bars = split_intraday_bars(session_bars(["AAA", "BBB"], days, seed=9, drop={("BBB", days[1], 20)}))[0]
    return bars, compute_intraday_features(bars)


def test_checked_in_suite_file_is_the_derived_one():
    assert (REPO / "expectations" / validation.FILE_NAME).read_text() == validation.render(), \
        "run `python -m stockfeatures.validation suite` and commit expectations/features_intraday.json"


def test_suite_has_a_range_check_per_feature_from_the_spec():
    document = validation.intraday_suite_document()
    ranges = {e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
              for e in document["expectations"] if e["type"] == "expect_column_values_to_be_between"}
    assert ranges == {s.name: (s.valid_min, s.valid_max) for s in INTRADAY_FEATURES}


def test_helpers_count_bars_in_a_row_within_the_session(rows):
    bars, _ = rows
    helpers = validation.window_helpers(bars).set_index(["ticker", "event_timestamp"])
    bbb = helpers.loc["BBB"]
    day2 = bbb.iloc[78:]
    assert day2[validation.BARS_IN_A_ROW].iloc[:20].tolist() == list(range(1, 21))
    assert day2[validation.BARS_IN_A_ROW].iloc[20] == 1  # slot 21 follows the hole at slot 20
    assert day2[validation.FROM_OPEN_COMPLETE].iloc[:20].all() and not day2[validation.FROM_OPEN_COMPLETE].iloc[20:].any()
    assert helpers[validation.ON_CLOCK].all()


def test_clean_rows_pass_the_gate(rows):
    bars, features = rows
    result = validation.gate_intraday_features(features, bars)
    assert result.passed, result.summary()
    assert validation.bound_violations(features).empty


def test_out_of_range_and_unexpected_nan_rows_are_rejected_alone(rows):
    bars, features = rows
    broken = features.copy()
    broken.loc[100, "ret_5m"] = 50.0
    broken.loc[120, "realized_vol_1h"] = np.nan  # slot 42 of AAA's second day: a full window
    broken.loc[5, "realized_vol_1h"] = np.nan  # slot 5: its window is not full, NaN is right
    broken.loc[130, "created_timestamp"] = broken.loc[130, "event_timestamp"] - pd.Timedelta(seconds=1)
    result = validation.gate_intraday_features(broken, bars)
    assert sorted(result.rejected.index) == [100, 120, 130]
    reasons = result.rejected["reason"].to_dict()
    assert "ret_5m outside its valid range" in reasons[100]
    assert "realized_vol_1h is NaN with all 13 slots" in reasons[120]
    assert "known before its bar ended" in reasons[130]
    assert len(result.accepted) == len(features) - 3
    assert validation.bound_violations(broken)[["row", "feature"]].values.tolist() == [[100, "ret_5m"]]


def test_features_doc_lists_every_intraday_formula():
    text = feature_docs.render()
    for spec in INTRADAY_FEATURES:
        assert f"`{spec.name}`" in text and spec.formula.replace("|", "\\|") in text
