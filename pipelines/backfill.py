"""backfill(start, end, tickers): load history chunk by chunk, then compute and materialize.

Chunked by ticker so one run can load years for hundreds of tickers with bounded memory and
a visible progress bar (a Prefect progress artifact). Resumable: a chunk's tickers that
already have stored bars on the first and last session of the range are skipped, so a
re-run after a crash continues where it stopped (and a finished backfill re-runs in
seconds). Ingest is the same stage the CLI runs (stockfeatures.stages.ingest): a bar's first
load keeps created = session close, a changed stored bar is a restatement known now.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from pipelines import tasks
from pipelines.monitoring import OUTCOME_HOOKS
from pipelines.reports import RunIncomplete, RunSummary, failures_of, publish, ticker_rows
from stockfeatures.config import load_settings
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.profiles import open_warehouse
from stockfeatures.stages.ingest_plan import loaded_tickers
from stockfeatures.universe import load_universe, with_benchmark
from stockfeatures.validation import GateResult


def chunks(tickers: list[str], size: int) -> list[list[str]]:
    if size < 1:
        raise ValueError("chunk_size must be at least 1")
    return [tickers[i:i + size] for i in range(0, len(tickers), size)]


@flow(name="backfill", log_prints=True, **OUTCOME_HOOKS)
def backfill(
    start: date,
    end: date,
    tickers: list[str] | None = None,
    profile: str | None = None,
    source: str = "yfinance",
    source_options: dict | None = None,
    chunk_size: int = 25,
    resume: bool = True,
    apply_definitions: bool = False,
    materialize: bool = True,
    storage_retries: int = 5,
    storage_retry_delay_seconds: float = 10.0,
) -> RunSummary:
    logger = get_run_logger()
    settings = load_settings(profile)
    universe = with_benchmark(validate_tickers(tickers), settings.benchmark_ticker) if tickers \
        else load_universe(settings)
    now = pd.Timestamp.now(tz="UTC")
    storage = {"retries": storage_retries, "retry_delay_seconds": storage_retry_delay_seconds}
    summary = RunSummary(flow="backfill")
    groups = chunks(universe, chunk_size)
    progress = create_progress_artifact(progress=0.0, description=f"backfill {start}..{end}: "
                                        f"{len(universe)} tickers in {len(groups)} chunks")
    fetched, missing, gates, fetch_failures, skipped = [], [], [], {}, []
    warehouse = open_warehouse(settings)
    try:
        warehouse.migrate()
        for number, chunk in enumerate(groups, start=1):
            done = loaded_tickers(warehouse, chunk, start, end) if resume else set()
            todo = [t for t in chunk if t not in done]
            skipped.extend(t for t in chunk if t in done)
            if todo:
                ingested = tasks.ingest_prices.with_options(**storage)(source, warehouse, todo, start, end,
                                                                       now, source_options)
                fetch_failures.update(getattr(ingested.batch, "failures", {}))
                fetched.append(ingested.batch.bars)
                missing.append(getattr(ingested.batch, "missing", None))
                gates.append(ingested.gate)
                logger.info("chunk %d: %s", number, ingested.line())
            if progress is not None:
                update_progress_artifact(progress, 100.0 * number / len(groups))
            logger.info("chunk %d/%d: %d tickers loaded, %d already done", number, len(groups),
                        len(todo), len(done))

        features = tasks.compute_features.with_options(**storage)(
            warehouse, settings.benchmark_ticker, start, end)
        feature_gate = tasks.validate_features(features)
        tasks.quarantine.with_options(**storage)(warehouse, "features", feature_gate)
        tasks.write_features.with_options(**storage)(warehouse, feature_gate.accepted)
        if apply_definitions:
            tasks.apply_definitions(settings)
        if materialize and len(feature_gate.accepted):
            latest = feature_gate.accepted["event_timestamp"].max()
            summary.materialized = tasks.materialize(
                settings, warehouse, (latest - timedelta(days=14)).to_pydatetime(),
                (latest + timedelta(seconds=1)).to_pydatetime())
    finally:
        warehouse.close()

    raw_gate = GateResult.combine(gates) if gates else None
    all_bars = pd.concat(fetched, ignore_index=True) if fetched else pd.DataFrame(columns=["ticker"])
    all_missing = pd.concat([m for m in missing if m is not None], ignore_index=True) \
        if any(m is not None for m in missing) else None
    summary.tickers = ticker_rows(universe, all_bars, fetch_failures, raw_gate, feature_gate, all_missing)
    for row in summary.tickers:
        if row["ticker"] in skipped:
            row["status"] = "ok (already loaded, skipped)"
    summary.validation = [g.summary() for g in (raw_gate, feature_gate) if g is not None]
    summary.failures = {t: s for t, s in failures_of(summary.tickers).items() if not s.startswith("ok")}
    if skipped:
        summary.notes.append(f"{len(skipped)} tickers already loaded: skipped")
    publish(summary)
    if not summary.ok:
        raise RunIncomplete(summary, (raw_gate.error() if raw_gate else None) or feature_gate.error())
    logger.info(summary.headline())
    return summary
