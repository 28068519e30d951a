"""Prefect tasks: one library call each, with retries only where a retry can help.

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

from stockfeatures import jobs, pipeline_steps
from stockfeatures.config import Settings
from stockfeatures.prices.source import PriceBatch, get_source
from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.validation import GateResult, gate_features, gate_raw_bars, quarantine_rejects


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
    return error is not None and pipeline_steps.is_transient_storage_error(error)


def retry_on_network_error(task, task_run, state) -> bool:
    from stockfeatures.prices.yahoo import is_transient

    error = _error_of(state)
    return error is not None and is_transient(error)


_STORAGE = dict(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=5,
                retry_condition_fn=retry_on_transient_storage_error)


@task(name="fetch prices", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30,
      retry_condition_fn=retry_on_network_error)
def fetch_prices(source: str, tickers: list[str] | None, start: date, end: date,
                 as_of: pd.Timestamp, source_options: dict | None = None,
                 stamp_known_at: bool = True) -> PriceBatch:
    """Fetch, drop bars whose session has not closed by as_of, and (daily runs) stamp the
    data as known at as_of; a backfill keeps created = session close (first load)."""
    pipeline_steps.ensure_yfinance_registered()
    batch = get_source(source, **(source_options or {})).fetch(tickers, start, end)
    bars, _ = pipeline_steps.drop_unclosed(batch.bars, as_of)
    extra = {n: getattr(batch, n) for n in ("failures", "missing", "unclosed") if hasattr(batch, n)}
    batch = type(batch)(bars=bars, actions=batch.actions, **extra)
    return pipeline_steps.stamp_known_at(batch, as_of) if stamp_known_at else batch


@task(name="validate raw prices", cache_policy=NO_CACHE)
def validate_raw(bars: pd.DataFrame) -> GateResult:
    return gate_raw_bars(bars)


@task(name="quarantine rejected rows", **_STORAGE)
def quarantine(warehouse: Warehouse, stage: str, result: GateResult) -> int:
    return quarantine_rejects(warehouse, stage, result)


@task(name="write prices", **_STORAGE)
def write_prices(warehouse: Warehouse, bars: pd.DataFrame, actions: pd.DataFrame) -> dict:
    bars_written, actions_written = pipeline_steps.write_prices(warehouse, bars, actions)
    return {"bars": bars_written, "actions": actions_written}


@task(name="compute features", **_STORAGE)
def compute_features(warehouse: Warehouse, benchmark: str, start: date | None,
                     end: date | None) -> pd.DataFrame:
    return jobs.compute_candidates(warehouse, benchmark, start, end)


@task(name="validate features", cache_policy=NO_CACHE)
def validate_features(features: pd.DataFrame) -> GateResult:
    return gate_features(features)


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

    jobs.materialize(open_feature_store(settings), start, end)
    window = warehouse.read_features(start=start, end=end)
    return {
        "window_start": start.isoformat(), "window_end": end.isoformat(),
        "tickers": int(window["ticker"].nunique()), "rows_in_window": len(window),
        "latest_event_timestamp": str(window["event_timestamp"].max()) if len(window) else None,
    }
