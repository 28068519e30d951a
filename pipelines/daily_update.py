"""daily_update: ingest -> validate raw -> compute -> validate features -> write -> materialize.

Scheduled after the close on weekdays; on an exchange holiday it skips itself (the XNYS
calendar decides, not the cron). A run re-fetches the trailing `refetch_sessions` sessions so
restatements are stored as new versions known at `as_of`; re-running a day adds nothing.
Ingest is the CLI's stage (stockfeatures.stages.ingest). Tickers that fail (no data, or a
bar rejected by a gate: that bar and the ticker's later ones are quarantined) are named; the
others are loaded and materialized, and the run then ends Failed with RunIncomplete.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from prefect import flow, get_run_logger

from pipelines import tasks
from pipelines.monitoring import OUTCOME_HOOKS
from pipelines.reports import RunIncomplete, RunSummary, failures_of, publish, ticker_rows
from stockfeatures.config import load_settings
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.profiles import open_warehouse
from stockfeatures.stages.ingest_plan import DEFAULT_REFETCH_SESSIONS, refetch_window
from stockfeatures.stages.knowledge_time import utc_known_at
from stockfeatures.trading_calendar import is_session, session_close
from stockfeatures.universe import load_universe, with_benchmark

NEW_YORK = "America/New_York"


def _storage_retries(delay: float, retries: int) -> dict:
    return {"retries": retries, "retry_delay_seconds": delay}


@flow(name="daily_update", log_prints=True, **OUTCOME_HOOKS)
def daily_update(
    profile: str | None = None,
    source: str = "yfinance",
    tickers: list[str] | None = None,
    as_of: datetime | None = None,
    refetch_sessions: int = DEFAULT_REFETCH_SESSIONS,
    source_options: dict | None = None,
    materialize: bool = True,
    skip_non_trading_days: bool = True,
    storage_retries: int = 5,
    storage_retry_delay_seconds: float = 10.0,
) -> RunSummary:
    """One trading day's update. `as_of` (UTC-aware) defaults to now; tests pin it."""
    logger = get_run_logger()
    settings = load_settings(profile)
    now = utc_known_at(as_of)  # the run's knowledge time: now unless a test or replay says
    summary = RunSummary(flow="daily_update")
    today = pd.Timestamp(now.tz_convert(NEW_YORK).date())
    if skip_non_trading_days and not bool(is_session([today]).iloc[0]):
        summary.skipped = True
        summary.notes.append(f"{today.date()} is not an XNYS session")
        logger.info(summary.headline())
        return summary

    universe = with_benchmark(validate_tickers(tickers), settings.benchmark_ticker) if tickers \
        else load_universe(settings)
    start, end = refetch_window(now, refetch_sessions)
    storage = _storage_retries(storage_retry_delay_seconds, storage_retries)
    warehouse = open_warehouse(settings)
    try:
        warehouse.migrate()
        ingested = tasks.ingest_prices.with_options(**storage)(source, warehouse, universe, start, end,
                                                               now, source_options)
        batch, raw_gate = ingested.batch, ingested.gate
        fetch_failures = dict(getattr(batch, "failures", {}))
        summary.notes.append(ingested.line())
        logger.info(ingested.line())

        feature_gate = tasks.compute_features.with_options(**storage)(
            warehouse, settings.benchmark_ticker, start, end)
        tasks.quarantine.with_options(**storage)(warehouse, "features", feature_gate)
        tasks.write_features.with_options(**storage)(warehouse, feature_gate.accepted)

        if materialize:
            window_start = session_close([pd.Timestamp(start)])[0] - timedelta(minutes=1)
            summary.materialized = tasks.materialize(settings, warehouse, window_start.to_pydatetime(),
                                                     now.to_pydatetime())
    finally:
        warehouse.close()

    summary.tickers = ticker_rows(universe, batch.bars, fetch_failures, raw_gate, feature_gate,
                                  getattr(batch, "missing", None))
    summary.validation = [raw_gate.summary(), feature_gate.summary()]
    summary.failures = failures_of(summary.tickers)
    publish(summary)
    if not summary.ok:
        raise RunIncomplete(summary, raw_gate.error() or feature_gate.error())
    logger.info(summary.headline())
    return summary
