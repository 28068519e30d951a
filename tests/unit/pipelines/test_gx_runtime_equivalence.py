"""gx_runtime.run_suite (narrow frames, BOOLEAN_ONLY then COMPLETE for what failed) reports
exactly what one COMPLETE Great Expectations run of the whole suite on the whole frame does:
same verdict per expectation, same unexpected rows, same errors, in suite order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.validation import column_groups, feature_suite, gx_runtime, suites
from stockfeatures.validation.prepare import prepare_features, prepare_raw
from tests.unit.pipelines.bars import good_bars
from tests.unit.pipelines.test_feature_gate import feature_rows


def reference(frame: pd.DataFrame, document: dict) -> list:
    """One plain GX run: the whole suite, the whole frame, COMPLETE."""
    context = gx_runtime.ephemeral_context()
    suite = suites.build_suite({**document, "name": f"reference_{document['name']}"})
    batch = gx_runtime._batch_definition(context, suite.name).get_batch(
        batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return [gx_runtime._outcome(r) for r in result.results]


def assert_same(frame: pd.DataFrame, document: dict) -> list:
    ours = gx_runtime.run_suite(frame, suites.build_suite(document))
    assert ours == reference(frame, document)
    return ours


def broken_features() -> pd.DataFrame:
    rows = prepare_features(feature_rows())
    rows.loc[250, "rsi_14"] = 130.0                      # out of range
    rows.loc[251, "ret_20d"] = np.nan                    # NaN after warm-up
    rows.loc[5, "ret_20d"] = np.nan                      # NaN inside warm-up: fine
    rows.loc[252, "ret_1d"] = np.inf                     # infinite
    rows.loc[253, "created_timestamp"] = rows.loc[253, "event_timestamp"] - pd.Timedelta("1h")
    rows.loc[254, "ticker"] = None                       # missing key
    rows.loc[400, "event_timestamp"] = rows.loc[399, "event_timestamp"]  # duplicate key
    rows.loc[400, "created_timestamp"] = rows.loc[400, "event_timestamp"]
    rows.loc[410, "beta_60d"] = np.nan                   # NaN once overlap is long enough
    rows.loc[411, "mom_12_1_rank"] = 7.0                 # out of range
    return rows


def test_feature_suite_with_failures_of_every_kind_matches_one_complete_run():
    outcomes = assert_same(broken_features(), feature_suite.suite_document())
    failed = {o.rule for o in outcomes if not o.success}
    assert len(failed) >= 8  # the frame really exercises the re-run of failing expectations


def test_both_feature_passes_match_and_a_passing_frame_reports_no_rows():
    clean = prepare_features(feature_rows())
    for document in (feature_suite.suite_document(cross_sectional=False),
                     feature_suite.suite_document(per_ticker=False)):
        assert all(o.success and not o.rows for o in assert_same(clean, document))
        assert_same(broken_features(), document)


def test_a_missing_column_fails_the_same_way():
    frame = broken_features().drop(columns=["ret_5d", "history_length"])
    outcomes = assert_same(frame, feature_suite.suite_document())
    assert any(o.error for o in outcomes)


def test_raw_suite_with_bad_bars_matches_one_complete_run():
    bars = good_bars()
    bars.loc[2, "low"] = -1.0
    bars.loc[3, "close"] = np.nan
    bars.loc[4, "ticker"] = "aapl"
    bars.loc[5, "high"] = bars.loc[5, "low"] / 2
    bars = pd.concat([bars, bars.loc[[6]]], ignore_index=True)
    bars.loc[7, "session"] = pd.Timestamp("2025-06-07")  # a Saturday
    assert_same(prepare_raw(bars), suites.suite_document(suites.RAW_SUITE))


def test_groups_are_narrow_and_cover_every_expectation_once():
    document = feature_suite.suite_document()
    reads = [column_groups.columns_read(e["kwargs"]) for e in document["expectations"]]
    cut = column_groups.groups(reads, prepare_features(feature_rows()).columns)
    assert sorted(i for _, members in cut for i in members) == list(range(len(reads)))
    assert max(len(columns) for columns, _ in cut) <= 3
    for columns, members in cut:
        assert all(set(reads[i]) <= set(columns) for i in members)


def test_unknown_row_condition_reads_every_column():
    assert column_groups.columns_read({"column": "x", "row_condition": "y > 1"}) is None
    cut = column_groups.groups([None, ["x"]], ["x", "y", "z"])
    assert cut == [(["x", "y", "z"], [0, 1])]
