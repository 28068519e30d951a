"""Great Expectations 1.x plumbing: one quiet in-memory context, one call per validation.

GX is imported lazily (about 2 s) and configured once: analytics off (the machines running
flows are often offline and GX would log the failed telemetry), progress bars off (they
flood Prefect logs). The context is ephemeral: suites live as files in expectations/, and
results go to Prefect artifacts and the quarantine table, not to a GX store.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import pandas as pd

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


def _batch_definition(context, asset_name: str):
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


def _outcome(result) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    info = result.exception_info or {}
    raised = info.get("raised_exception") if isinstance(info, dict) else False
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


def run_suite(frame: pd.DataFrame, suite) -> list[ExpectationOutcome]:
    """Validate `frame` (RangeIndex: reported rows are positions) against a GX suite."""
    context = ephemeral_context()
    # GX's pandas engine copies the batch for every row_condition and every domain it reads;
    # text columns as categories copy as small integer codes, not Python object pointers
    # (a quarter of a suite's time on 376k feature rows). Values and row positions are kept.
    frame = frame.assign(**{name: frame[name].astype("category")
                            for name in frame.columns if frame[name].dtype == object})
    with _LOCK:  # GX contexts are not thread-safe; Prefect may run tasks in threads
        batch = _batch_definition(context, suite.name).get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return [_outcome(r) for r in result.results]
