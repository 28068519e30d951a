"""The features_intraday suite, derived from INTRADAY_FEATURES as the daily suite is from FEATURES.

Per feature: values within [valid_min, valid_max] (NaN is skipped there), and no NaN once
every bar its window needs is present: `bars_in_a_row` (consecutive slots with a bar up to
the row, same session) >= lookback_slots, or, for the since-the-open features,
`from_open_complete` = 1. Features declaring nan_after_warm_up keep the range check only.
Plus: keys present and unique, the row on a 5-minute slot (`on_clock`), and known no earlier
than its bar's end. expectations/features_intraday.json is `intraday_suite_document()`
written out for review and Data Docs (`python -m stockfeatures.validation suite [--check]`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from stockfeatures.intraday import session_clock
from stockfeatures.intraday.spec import BAR_LENGTH, INTRADAY_FEATURES, IntradayFeatureSpec

SUITE_NAME = "features_intraday"
FILE_NAME = f"{SUITE_NAME}.json"
BARS_IN_A_ROW = "bars_in_a_row"
FROM_OPEN_COMPLETE = "from_open_complete"
ON_CLOCK = "on_clock"
HELPER_COLUMNS = (BARS_IN_A_ROW, FROM_OPEN_COMPLETE, ON_CLOCK)


def _expectation(kind: str, rule: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"rule": rule}}


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def _at_least(column: str, value: int) -> dict:
    """GX 1.x Condition (serialized form of Column(column) >= value)."""
    return {"type": "comparison", "column": {"name": column}, "operator": ">=", "parameter": value}


def _feature_expectations(spec: IntradayFeatureSpec) -> list[dict]:
    rules = [_expectation(
        "expect_column_values_to_be_between",
        f"{spec.name} outside its valid range [{spec.valid_min:g}, {spec.valid_max:g}] (IntradayFeatureSpec)",
        column=spec.name, min_value=_bound(spec.valid_min), max_value=_bound(spec.valid_max),
    )]
    if spec.nan_after_warm_up:
        return rules
    if spec.since_open:
        rule, condition = f"{spec.name} is NaN with every bar since the open present", _at_least(FROM_OPEN_COMPLETE, 1)
    else:
        rule = f"{spec.name} is NaN with all {spec.lookback_slots} slots of its window present"
        condition = _at_least(BARS_IN_A_ROW, spec.lookback_slots)
    rules.append(_expectation("expect_column_values_to_not_be_null", rule, column=spec.name,
                              row_condition=condition))
    return rules


def intraday_suite_document() -> dict:
    """The suite as GX 1.x JSON (name, expectations with type/kwargs/meta)."""
    expectations = [
        *(_expectation("expect_column_values_to_not_be_null", f"{column} is missing", column=column)
          for column in ("ticker", "event_timestamp", "created_timestamp")),
        _expectation("expect_compound_columns_to_be_unique",
                     "more than one row for the same (ticker, event_timestamp)",
                     column_list=["ticker", "event_timestamp"]),
        _expectation("expect_column_values_to_be_in_set",
                     "event_timestamp is not the end of a 5-minute slot of a regular session",
                     column=ON_CLOCK, value_set=[True]),
        _expectation("expect_column_pair_values_a_to_be_greater_than_b",
                     "known before its bar ended (created_timestamp < event_timestamp)",
                     column_A="created_timestamp", column_B="event_timestamp", or_equal=True),
    ]
    for spec in INTRADAY_FEATURES:
        expectations.extend(_feature_expectations(spec))
    return {
        "name": SUITE_NAME,
        "meta": {
            "description": "Generated from stockfeatures.intraday.spec.INTRADAY_FEATURES by "
                           "stockfeatures.intraday.validation: do not edit by hand.",
            "applies_to": f"feature rows plus {BARS_IN_A_ROW}, {FROM_OPEN_COMPLETE} and {ON_CLOCK} "
                          "columns (intraday.validation.prepare_intraday_features)",
        },
        "expectations": expectations,
    }


def window_helpers(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (ticker, event_timestamp) of `rows` (bars or feature rows): the helper columns.

    Counted over the rows given, so pass the session's bars from the open when validating
    only the latest cycle's features (fewer rows only make the not-null checks laxer).
    """
    keys = rows[["ticker", "event_timestamp"]].drop_duplicates().sort_values(["ticker", "event_timestamp"])
    clock = session_clock.locate_slots(keys["event_timestamp"] - BAR_LENGTH)
    on_clock = clock.problem.isna().to_numpy()
    slot = np.where(on_clock, clock.slot, -10)
    group = (keys["ticker"].astype(str) + "|" + clock.session.astype(str)).to_numpy()
    previous_slot = np.r_[-10, slot[:-1]]
    previous_group = np.concatenate([np.array([""], dtype=object), group[:-1]])
    starts_run = ~((group == previous_group) & (slot == previous_slot + 1) & on_clock)
    run_id = np.cumsum(starts_run)
    in_a_row = pd.Series(1, index=keys.index).groupby(run_id).cumsum().to_numpy()
    return keys.assign(**{BARS_IN_A_ROW: np.where(on_clock, in_a_row, 0),
                          FROM_OPEN_COMPLETE: (on_clock & (in_a_row == slot + 1)).astype("int64"),
                          ON_CLOCK: on_clock})


def prepare_intraday_features(features: pd.DataFrame, bars: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feature rows plus the helper columns (from `bars` when given, else from the rows)."""
    frame = features.reset_index(drop=True).drop(columns=[c for c in HELPER_COLUMNS if c in features.columns])
    helpers = window_helpers(bars if bars is not None else frame)
    merged = frame.merge(helpers, on=["ticker", "event_timestamp"], how="left")
    merged[BARS_IN_A_ROW] = merged[BARS_IN_A_ROW].fillna(0).astype("int64")
    merged[FROM_OPEN_COMPLETE] = merged[FROM_OPEN_COMPLETE].fillna(0).astype("int64")
    merged[ON_CLOCK] = merged[ON_CLOCK].astype("boolean").fillna(False).astype(bool)
    return merged


def bound_violations(features: pd.DataFrame) -> pd.DataFrame:
    """Every (row, feature, value) outside the spec bounds; plain pandas, no GX (NaN is no value)."""
    parts = []
    for spec in INTRADAY_FEATURES:
        values = features[spec.name]
        bad = values.notna() & ~values.between(spec.valid_min, spec.valid_max)
        parts.append(pd.DataFrame({"row": features.index[bad], "feature": spec.name, "value": values[bad],
                                   "bounds": f"[{spec.valid_min:g}, {spec.valid_max:g}]"}))
    return pd.concat(parts, ignore_index=True)


def gate_intraday_features(features: pd.DataFrame, bars: pd.DataFrame | None = None):
    """Run the suite row by row with Great Expectations: a GateResult whose `rejected` rows
    (features + reason) go to quarantine, as validation.gate_features does for daily rows."""
    import time

    from stockfeatures.validation.gate import gate_rows

    started = time.perf_counter()
    prepared = prepare_intraday_features(features, bars)
    original = prepared.drop(columns=list(HELPER_COLUMNS))
    return gate_rows(SUITE_NAME, original, prepared, started, intraday_suite_document())


def render() -> str:
    return json.dumps(intraday_suite_document(), indent=2) + "\n"


def write_suite(directory: Path, check: bool = False) -> bool:
    """Write (or with check=True, only compare) the suite file; True when it is up to date."""
    path = directory / FILE_NAME
    current = path.read_text() if path.exists() else ""
    if current == render():
        return True
    if check:
        return False
    path.write_text(render())
    return True
