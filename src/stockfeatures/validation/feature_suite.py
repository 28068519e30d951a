"""The features_daily suite, generated from FeatureSpec so bounds can never drift from it.

Per feature: values within [valid_min, valid_max] (NaN is not a value; GX skips it there),
and no NaN once the row has `lookback` sessions of the ticker's own history behind it (the
warm-up window is the only place a NaN belongs). Features that declare
`nan_after_warm_up` (volume_z_20 on constant volume) keep the range check only; features
that declare `warm_up_with_benchmark` (beta_60d) count the warm-up in sessions shared with
the benchmark. expectations/features_daily.json is this module's output, kept for review and for
Data Docs; `python -m stockfeatures.validation suite --check` fails when it is stale.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from stockfeatures.features.spec import FEATURES, FeatureSpec
from stockfeatures.validation.prepare import BENCHMARK_OVERLAP, HISTORY_LENGTH

SUITE_NAME = "features_daily"
FILE_NAME = f"{SUITE_NAME}.json"


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def _history_at_least(sessions: int, column: str = HISTORY_LENGTH) -> dict:
    """GX 1.x Condition (serialized form of Column(column) >= sessions)."""
    return {"type": "comparison", "column": {"name": column}, "operator": ">=",
            "parameter": sessions}


def _expectation(kind: str, rule: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"rule": rule}}


def _feature_expectations(spec: FeatureSpec) -> list[dict]:
    rules = [
        _expectation(
            "expect_column_values_to_be_between",
            f"{spec.name} outside its valid range [{spec.valid_min:g}, {spec.valid_max:g}] (FeatureSpec)",
            column=spec.name, min_value=_bound(spec.valid_min), max_value=_bound(spec.valid_max),
        )
    ]
    if not spec.nan_after_warm_up:
        counted = BENCHMARK_OVERLAP if spec.warm_up_with_benchmark else HISTORY_LENGTH
        shared = " shared with the benchmark" if spec.warm_up_with_benchmark else ""
        rules.append(_expectation(
            "expect_column_values_to_not_be_null",
            f"{spec.name} is NaN after its {spec.lookback}-session warm-up{shared}",
            column=spec.name, row_condition=_history_at_least(spec.lookback, counted),
        ))
    return rules


def suite_document(cross_sectional: bool = True, per_ticker: bool = True) -> dict:
    """The suite as GX 1.x JSON (name, expectations with type/kwargs/meta).

    cross_sectional=False leaves out the features computed across tickers: the first of the
    two passes in feature_passes, which validates what each ticker's own bars give.
    per_ticker=False keeps only the cross-sectional features' rules: the second pass, which
    recomputes those columns alone, so the rest was settled by the first."""
    expectations = [] if not per_ticker else [
        _expectation("expect_column_values_to_not_be_null", "ticker is missing", column="ticker"),
        _expectation("expect_column_values_to_not_be_null", "event_timestamp is missing",
                     column="event_timestamp"),
        _expectation("expect_column_values_to_not_be_null", "created_timestamp is missing",
                     column="created_timestamp"),
        _expectation("expect_compound_columns_to_be_unique",
                     "more than one row for the same (ticker, event_timestamp)",
                     column_list=["ticker", "event_timestamp"]),
        _expectation("expect_column_pair_values_a_to_be_greater_than_b",
                     "known before its session closed (created_timestamp < event_timestamp)",
                     column_A="created_timestamp", column_B="event_timestamp", or_equal=True),
    ]
    for spec in FEATURES:
        if (cross_sectional if spec.cross_sectional else per_ticker):
            expectations.extend(_feature_expectations(spec))
    return {
        "name": SUITE_NAME,
        "meta": {
            "description": "Generated from stockfeatures.features.spec.FEATURES by "
                           "stockfeatures.validation.feature_suite: do not edit by hand.",
            "applies_to": f"feature rows plus a {HISTORY_LENGTH} column (sessions of own history) "
                          f"and a {BENCHMARK_OVERLAP} column (consecutive sessions shared with "
                          "the benchmark)",
        },
        "expectations": expectations,
    }


def render() -> str:
    return json.dumps(suite_document(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    from stockfeatures.validation.suites import expectations_dir

    parser = argparse.ArgumentParser(description="write expectations/features_daily.json from FeatureSpec")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--dir", type=Path, default=None, help="default: the expectations/ folder")
    args = parser.parse_args(argv)
    path = (args.dir or expectations_dir()) / FILE_NAME
    current = path.read_text() if path.exists() else ""
    if args.check:
        if current != render():
            print(f"{path} is out of date: run python -m stockfeatures.validation suite",
                  file=sys.stderr)
            return 1
        return 0
    if current != render():
        path.write_text(render())
        print(f"{path}: updated")
    else:
        print(f"{path}: already up to date")
    return 0

