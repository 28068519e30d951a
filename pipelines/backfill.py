"""backfill(start, end, tickers): load history chunk by chunk, then compute and materialize.

Chunked by ticker so one run can load years for hundreds of tickers with bounded memory and
a visible progress bar (a Prefect progress artifact). Resumable: a chunk's tickers that
already have stored bars on the first and last session of the range are skipped, so a
re-run after a crash continues where it stopped (and a finished backfill re-runs in
seconds). Ingest is the same stage the CLI runs (stockfeatures.stages.ingest): a bar's first
load keeps created = session close, a changed stored bar is a restatement known now.

Tickers the source cannot serve (the sample source has 51 of the default universe's 108) are
named in the run summary and skipped; the run goes on with the rest and ends Completed. Each
chunk logs tickers done/total, bars fetched and an ETA, and advances the progress bar that
`python -m pipelines backfill` shows (stockfeatures.progress).
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from pipelines import tasks
from pipelines.monitoring import OUTCOME_HOOKS
from pipelines.reports import RunIncomplete, RunSummary, failures_of, publish, ticker_rows
from stockfeatures.config import load_settings
from stockfeatures.prices.source import get_source
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.profiles import open_warehouse
from stockfeatures.progress import duration_text, eta_seconds, or_silent
from stockfeatures.stages import compute as compute_stage
from stockfeatures.stages.ingest_plan import loaded_tickers
from stockfeatures.universe import load_universe, with_benchmark
from stockfeatures.validation import GateResult


def chunks(tickers: list[str], size: int) -> list[list[str]]:
    if size < 1:
        raise ValueError("chunk_size must be at least 1")
    return [tickers[i:i + size] for i in range(0, len(tickers), size)]


def unavailable_tickers(source: str, source_options: dict | None, tickers: list[str]) -> list[str]:
    """Tickers the source says it cannot serve, in `tickers` order; [] when it cannot tell.

    Sources with a fixed universe (the sample generator) list it as `.tickers`; asking first
    turns "UnknownTicker: sample source has no tickers [...]" mid-run into a named skip.
    """
    served = getattr(get_source(source, **(source_options or {})), "tickers", None)
    if served is None:
        return []
    served = set(served)
    return [t for t in tickers if t not in served]


def chunk_line(number: int, chunks_total: int, done: int, total: int, bars: int, loaded_now: int,
               already: int, elapsed: float) -> str:
    """'chunk 3/6: 75/150 tickers done (25 fetched, 0 already loaded), 31,250 bars, ETA 1 min 05 s'."""
    eta = eta_seconds(done, total, elapsed)
    eta_text = "" if eta is None or done >= total else f", ETA {duration_text(eta)}"
    return (f"chunk {number}/{chunks_total}: {done}/{total} tickers done ({loaded_now} fetched, "
            f"{already} already loaded), {bars:,} bars so far, {duration_text(elapsed)} elapsed{eta_text}")


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
    requested = with_benchmark(validate_tickers(tickers), settings.benchmark_ticker) if tickers \
        else load_universe(settings)
    lacking = unavailable_tickers(source, source_options, requested)
    universe = [t for t in requested if t not in lacking]
    if not universe:
        raise ValueError(f"the {source} source has none of the {len(requested)} requested tickers "
                         f"({', '.join(requested[:10])}{' ...' if len(requested) > 10 else ''}): "
                         "nothing to backfill; pick tickers it serves or another --source")
    if lacking:
        logger.warning("the %s source has no data for %d of %d tickers, skipped: %s", source,
                       len(lacking), len(requested), ", ".join(lacking))
    now = pd.Timestamp.now(tz="UTC")
    storage = {"retries": storage_retries, "retry_delay_seconds": storage_retry_delay_seconds}
    summary = RunSummary(flow="backfill")
    groups = chunks(universe, chunk_size)
    progress = create_progress_artifact(progress=0.0, description=f"backfill {start}..{end}: "
                                        f"{len(universe)} tickers in {len(groups)} chunks")
    fetched, missing, gates, fetch_failures, skipped = [], [], [], {}, []
    bar = or_silent(None)
    bar.start(f"backfill {start}..{end}", len(universe), "tickers")
    started, done_tickers, bars_so_far = time.monotonic(), 0, 0
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
                bars_so_far += len(ingested.batch.bars)
            done_tickers += len(chunk)
            if progress is not None:
                update_progress_artifact(progress, 100.0 * number / len(groups))
            bar.advance(len(chunk), f"{bars_so_far:,} bars")
            logger.info(chunk_line(number, len(groups), done_tickers, len(universe), bars_so_far,
                                   len(todo), len(done), time.monotonic() - started))

        # Window by window, each stored before the next: memory stays bounded at any size.
        window_gates = []
        for window_start, window_end in compute_stage.compute_windows(warehouse, start, end):
            gate = tasks.compute_features.with_options(**storage)(
                warehouse, settings.benchmark_ticker, window_start, window_end)
            tasks.quarantine.with_options(**storage)(warehouse, "features", gate)
            tasks.write_features.with_options(**storage)(warehouse, gate.accepted)
            window_gates.append(compute_stage.keys_only(gate))
        feature_gate = GateResult.combine(window_gates) if window_gates else None
        if apply_definitions:
            tasks.apply_definitions(settings)
        if materialize and feature_gate is not None and len(feature_gate.accepted):
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
    summary.tickers = ticker_rows(requested, all_bars, fetch_failures, raw_gate, feature_gate, all_missing)
    for row in summary.tickers:
        if row["ticker"] in skipped:
            row["status"] = "ok (already loaded, skipped)"
        elif row["ticker"] in lacking:
            row["status"] = f"skipped: the {source} source has no data for it"
    summary.validation = [g.summary() for g in (raw_gate, feature_gate) if g is not None]
    summary.failures = {t: s for t, s in failures_of(summary.tickers).items()
                        if not s.startswith(("ok", "skipped"))}
    if skipped:
        summary.notes.append(f"{len(skipped)} tickers already loaded: skipped")
    if lacking:
        summary.notes.append(f"{len(lacking)} tickers not in the {source} source, skipped: "
                             + ", ".join(lacking))
    publish(summary)
    if not summary.ok:
        raise RunIncomplete(summary, (raw_gate.error() if raw_gate else None)
                            or (feature_gate.error() if feature_gate else None))
    logger.info(summary.headline())
    return summary
