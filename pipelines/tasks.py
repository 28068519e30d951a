"""Prefect tasks: one library call each (stockfeatures.stages), with retries only where a retry can help.

Tasks that talk to the network or a database retry on transient errors (rate limits,
connection loss) and never on bad data. Writes are safe to retry because every warehouse
write is one transaction and idempotent. Inputs are frames and open stores, so caching is
off (hashing them would be slow and meaningless).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from stockfeatures import jobs
from stockfeatures.config import Settings
from stockfeatures.prices.source import get_source
from stockfeatures.stages import compute as compute_stage
from stockfeatures.stages import ingest as ingest_stage
from stockfeatures.stages import materialize as materialize_stage
from stockfeatures.stages.ingest import IngestResult
from stockfeatures.stages.retries import is_transient_storage_error
from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.validation import GateResult, quarantine_rejects


def _error_of(state) -> BaseException | None:
    data = getattr(state, "data", None)
    if isinstance(data, BaseException):
        return data
    try:
        result = state.result(raise_on_failure=False)
    except Exception as error:  # noqa: BLE001 - the state could not even be read
        return error
    return result if isinstance(result, BaseException) else None


def retry_on_transient_storage_error(task, task_run, state) -> bool:
    error = _error_of(state)
    return error is not None and is_transient_storage_error(error)


def retry_on_transient_error(task, task_run, state) -> bool:
    """Storage trouble or network trouble (rate limits, connection loss); never bad data."""
    from stockfeatures.prices.yahoo import is_transient

    error = _error_of(state)
    return error is not None and (is_transient_storage_error(error) or is_transient(error))


_STORAGE = dict(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=5,
                retry_condition_fn=retry_on_transient_storage_error)


@task(name="ingest prices", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30,
      retry_condition_fn=retry_on_transient_error)
def ingest_prices(source: str, warehouse: Warehouse, tickers: list[str] | None, start: date, end: date,
                  known_at: pd.Timestamp, source_options: dict | None = None) -> IngestResult:
    """The ingest stage, exactly as the CLI runs it (stockfeatures.stages.ingest).

    Retried as a whole on a transient network or storage error: every write is one
    idempotent transaction, so a second try adds only what the first did not store.
    """
    return ingest_stage.ingest(get_source(source, **(source_options or {})), warehouse, tickers,
                               start, end, known_at=known_at)


@task(name="quarantine rejected rows", **_STORAGE)
def quarantine(warehouse: Warehouse, stage: str, result: GateResult) -> int:
    return quarantine_rejects(warehouse, stage, result)


@task(name="compute and validate features", **_STORAGE)
def compute_features(warehouse: Warehouse, benchmark: str, start: date | None,
                     end: date | None) -> GateResult:
    """The compute stage's two-pass gate (stages.compute.gate_stored_features), not written."""
    return compute_stage.gate_stored_features(warehouse, benchmark, start, end)


@task(name="write features", **_STORAGE)
def write_features(warehouse: Warehouse, features: pd.DataFrame):
    return warehouse.write_features(features)


@task(name="apply feature definitions", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def apply_definitions(settings: Settings) -> None:
    jobs.apply_definitions(settings)


@task(name="materialize online", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def materialize(settings: Settings, warehouse: Warehouse, start: datetime, end: datetime) -> dict:
    """Load the latest offline value per ticker in [start, end] into the online store.

    Tickers whose new rows were rejected have none in the window beyond what is already
    online, so the online store keeps their last good values.
    """
    from stockfeatures.profiles import open_feature_store

    materialize_stage.materialize(open_feature_store(settings), start, end, warehouse=warehouse)
    window = warehouse.read_features(start=start, end=end)
    return {
        "window_start": start.isoformat(), "window_end": end.isoformat(),
        "tickers": int(window["ticker"].nunique()), "rows_in_window": len(window),
        "latest_event_timestamp": str(window["event_timestamp"].max()) if len(window) else None,
    }
