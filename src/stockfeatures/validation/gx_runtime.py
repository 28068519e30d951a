"""Great Expectations 1.x plumbing: one quiet in-memory context, one call per validation.

GX is imported lazily (about 2 s) and configured once: analytics off (the machines running
flows are often offline and GX would log the failed telemetry), progress bars off (they
flood Prefect logs). The context is ephemeral: suites live as files in expectations/, and
results go to Prefect artifacts and the quarantine table, not to a GX store.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache

import pandas as pd

from stockfeatures.validation import column_groups
from stockfeatures.validation.errors import ExpectationOutcome

_LOCK = threading.Lock()
_DATASOURCE = "stockfeatures_frames"


def quiet_environment() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@lru_cache(maxsize=1)
def ephemeral_context():
    quiet_environment()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas(_DATASOURCE)
    return context


@lru_cache(maxsize=256)
def _batch_definition(context, asset_name: str):
    """The whole-frame batch definition of `asset_name`, made once: looking it up through the
    fluent datasource took 35 ms per column group, 0.6 s of a million-row window's gate."""
    source = context.data_sources.get(_DATASOURCE)
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole_frame")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole_frame")


def _columns_of(kwargs: dict) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return ", ".join(str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs)


def _raised(exception_info) -> dict:
    """The exception an expectation raised, {} if none. GX 1.x puts it at the top level of
    exception_info, or, when a metric failed to compute (a missing column), under each
    metric's id: without looking there a crashed expectation read as failing no row."""
    if not isinstance(exception_info, dict):
        return {}
    if exception_info.get("raised_exception"):
        return exception_info
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value
    return {}


def _outcome(result) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    info = _raised(result.exception_info)
    raised = bool(info)
    rows = tuple(int(i) for i in details.get("unexpected_index_list") or ())
    return ExpectationOutcome(
        rule=(config.meta or {}).get("rule", config.type),
        expectation=config.type,
        columns=_columns_of(config.kwargs),
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or len(rows)),
        rows=rows,
        error=str(info.get("exception_message")) if raised else None,
    )


def _key(configuration) -> str:
    """An expectation's identity within a suite: its type, kwargs (less the batch_id GX adds
    to a result's copy) and meta."""
    kwargs = {k: v for k, v in configuration.kwargs.items() if k != "batch_id"}
    return json.dumps([configuration.type, kwargs, configuration.meta],
                      sort_keys=True, default=str)


def _validate(context, name: str, frame: pd.DataFrame, positions: list[int], configurations: list,
              result_format: str) -> dict[int, object]:
    """position in the suite -> GX result, for the expectations at `positions`.

    GX lists the results of expectations that raised first, so results are matched to
    expectations by identity, not by order."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.validator.v1_validator import Validator

    chosen = [configurations[i] for i in positions]
    suite = ExpectationSuite(name=name, expectations=chosen)
    # The validator Batch.validate builds, without first building a Batch of our own: GX
    # fingerprints (hashes) every batch it builds, and that was 40 % of a group's time.
    validator = Validator(_batch_definition(context, name), batch_parameters={"dataframe": frame},
                          result_format={"result_format": result_format})
    results = validator.validate_expectation_suite(suite).results
    where = {_key(configurations[i]): i for i in positions}
    return {where[_key(r.expectation_config)]: r for r in results}


def run_suite(frame: pd.DataFrame, suite) -> list[ExpectationOutcome]:
    """Validate `frame` (RangeIndex: reported rows are positions) against a GX suite.

    Each group of expectations (validation.column_groups) runs on a frame of only the
    columns it reads, first in BOOLEAN_ONLY (no row lists built while every row passes);
    only the expectations that failed run again, in COMPLETE, on the same frame, for their
    unexpected rows. Verdicts, rows and errors are those of one COMPLETE run of the suite,
    listed as GX lists them (expectations that raised first, then the others, by column).
    """
    context = ephemeral_context()
    # GX's pandas engine copies the batch for every row_condition and every domain it reads;
    # text columns as categories copy as small integer codes, not Python object pointers
    # (a quarter of a suite's time on 376k feature rows). Values and row positions are kept;
    # only the narrow frames that hold a text column convert it.
    configurations = [e.configuration for e in suite.expectations]
    cut = column_groups.groups([column_groups.columns_read(c.kwargs) for c in configurations],
                               frame.columns)
    results: dict[int, object] = {}
    with _LOCK:  # GX contexts are not thread-safe; Prefect may run tasks in threads
        for number, (columns, members) in enumerate(cut):
            narrow = frame[[c for c in columns if c in frame.columns]]
            text = {c: narrow[c].astype("category") for c in narrow.columns if narrow[c].dtype == object}
            if text:  # assign copies the frame, even with nothing to assign
                narrow = narrow.assign(**text)
            name = f"{suite.name}.{number}"
            quick = _validate(context, name, narrow, members, configurations, "BOOLEAN_ONLY")
            results.update(quick)
            failed = [i for i in members if not quick[i].success]
            if failed:
                results.update(_validate(context, name, narrow, failed, configurations, "COMPLETE"))
    outcomes = [_outcome(results[i]) for i in _listing_order(configurations)]
    return [o for o in outcomes if o.error] + [o for o in outcomes if not o.error]


def _listing_order(configurations: list) -> list[int]:
    """Suite positions in the order one GX run lists results: grouped by `column` kwarg in
    order of first appearance (expectations without one form one group at its first)."""
    by_column: dict[str | None, list[int]] = {}
    for position, configuration in enumerate(configurations):
        column = configuration.kwargs.get("column")
        by_column.setdefault(column if isinstance(column, str) else None, []).append(position)
    return [position for positions in by_column.values() for position in positions]
