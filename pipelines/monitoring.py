"""Flow outcomes for Prometheus: every flow pushes its result to the Pushgateway.

Prefect state hooks run after the flow ends, whatever the outcome, so a crash is reported
as surely as a success. Monitoring never fails a flow: a push error is logged and dropped.
"""

from __future__ import annotations

import logging

import pandas as pd

from stockfeatures.features.spec import view_names
from stockfeatures.metrics import push_pipeline_outcome

log = logging.getLogger(__name__)


def newest_materialized(result: object) -> dict[str, float] | None:
    """Per view, the newest event_timestamp (unix seconds) a run wrote to the online store."""
    materialized = getattr(result, "materialized", None) or {}
    latest = materialized.get("latest_event_timestamp") if isinstance(materialized, dict) else None
    if not latest:
        return None
    seconds = pd.Timestamp(latest).timestamp()
    # Every view reads features_daily, so one materialization window covers them all.
    return {view: seconds for view in view_names()}


def report_outcome(flow, flow_run, state) -> None:
    """on_completion / on_failure / on_crashed hook."""
    succeeded = state.is_completed()
    newest = None
    if succeeded:
        try:
            newest = newest_materialized(state.result(raise_on_failure=False))
        except Exception as error:  # the run's result may not be retrievable here
            log.debug("no result to read materialized timestamps from: %s", error)
    try:
        push_pipeline_outcome(flow.name, succeeded, newest)
    except Exception as error:
        log.warning("could not push the outcome of %s to the Pushgateway: %s", flow.name, error)


OUTCOME_HOOKS = {
    "on_completion": [report_outcome],
    "on_failure": [report_outcome],
    "on_crashed": [report_outcome],
}
