"""The batch steps of the data flow as plain library calls.

CLI subcommands and the Prefect flows (pipelines/) are thin wrappers around these and
stockfeatures.pipeline_steps, so the order ingest -> compute -> validate -> write offline
-> apply -> materialize lives in the library and every step can be run and tested alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from stockfeatures.config import Settings
from stockfeatures.features import compute_features
from stockfeatures.features.spec import MAX_LOOKBACK
from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.prices.source import PriceSource
from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.trading_calendar import calendar

NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class StepReport:
    """What a step did, in numbers a run summary (or a Prefect artifact) can show."""

    step: str
    rows_in: int
    inserted: int
    unchanged: int
    tickers: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.step}: {self.rows_in} rows from {self.tickers} tickers, "
            f"{self.inserted} new versions stored, {self.unchanged} unchanged ({self.seconds:.1f} s)"
        )


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def ingest(
    source: PriceSource,
    warehouse: Warehouse,
    tickers: list[str] | None,
    start: date,
    end: date,
) -> StepReport:
    """Fetch raw bars and corporate actions and append them as new versions, unvalidated.

    For trusted sources (the sample generator in tests and benchmarks); user-facing ingests
    go through pipeline_steps.ingest_checked, which gates and quarantines first.
    """
    started = time.perf_counter()
    batch = source.fetch(tickers, start, end)
    bars_written = warehouse.write_bars(batch.bars)
    warehouse.write_actions(batch.actions)
    return StepReport(
        "ingest", len(batch.bars), bars_written.inserted, bars_written.unchanged,
        batch.bars["ticker"].nunique(), _elapsed(started),
    )


def history_start(start: date | pd.Timestamp) -> pd.Timestamp:
    """First session to read so that `start` has its full MAX_LOOKBACK window behind it."""
    cal = calendar()
    first = cal.date_to_session(pd.Timestamp(start), direction="next")
    position = max(cal.sessions.get_loc(first) - MAX_LOOKBACK - 5, 0)
    return cal.sessions[position]


def compute_candidates(warehouse: Warehouse, benchmark: str, start: date | None = None,
                       end: date | None = None) -> pd.DataFrame:
    """Feature rows for sessions in [start, end] from the latest known bars, NOT written.

    Always over the whole stored universe: mom_12_1_rank and beta_60d are cross-sectional,
    so a per-ticker recompute would change their meaning. Carries a history_length column
    (the row's sessions of own history) for the features suite's warm-up rule; the history
    read goes MAX_LOOKBACK sessions before `start`, so the count is exact where it matters.
    """
    from stockfeatures.validation.prepare import HISTORY_LENGTH, history_lengths

    read_from = history_start(start) if start else None
    bars = latest_versions(warehouse.read_bars(start=read_from, end=end))
    if bars.empty:
        raise LookupError("no price bars stored for that range: run `stockfeatures ingest` first")
    features = compute_features(adjust_bars(bars, warehouse.read_actions()), benchmark=benchmark)
    features[HISTORY_LENGTH] = history_lengths(features).to_numpy()
    if start is not None:
        sessions = features["event_timestamp"].dt.tz_convert(NEW_YORK).dt.date
        features = features[(sessions >= start).to_numpy()]
    return features.reset_index(drop=True)


def compute(
    warehouse: Warehouse,
    benchmark: str,
    start: date | None = None,
    end: date | None = None,
) -> StepReport:
    """Compute, validate, quarantine what fails, store what passes; raise if anything failed.

    Unchanged values are not re-stored (the warehouse compares with the latest version).
    """
    from stockfeatures.validation import quarantine_rejects
    from stockfeatures.validation.feature_passes import gate_stored_features

    started = time.perf_counter()
    gate = gate_stored_features(warehouse, benchmark, start, end)
    quarantine_rejects(warehouse, "features_daily", gate)
    written = warehouse.write_features(gate.accepted)
    gate.raise_if_failed()
    return StepReport(
        "compute", gate.checked, written.inserted, written.unchanged,
        len(set(gate.accepted["ticker"]) | set(gate.rejected.get("ticker", []))), _elapsed(started),
    )


def apply_definitions(settings: Settings) -> str:
    """Run `feast apply` for the profile in a child process.

    A child process, because Feast imports feature_repo modules by bare name and caches
    them in sys.modules: a second apply with another profile in the same process would see
    the first profile's sources.
    """
    settings.export_feast_environment()
    settings.local_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "feast.cli.cli", "-c", str(settings.feature_repo_dir),
        "-f", str(settings.feature_store_yaml), "apply",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"feast apply failed ({settings.profile} profile):\n{result.stderr[-4000:]}")
    return result.stdout


def materialize(store, start: datetime, end: datetime):
    """Copy the latest known value per ticker in [start, end] into the online store,
    restated and recomputed values included (stockfeatures.materialize_online)."""
    from stockfeatures.materialize_online import materialize_online

    for name, stamp in (("start", start), ("end", end)):
        if stamp.tzinfo is None:
            raise ValueError(f"materialize {name} {stamp!r} must be timezone-aware")
    return materialize_online(store, start, end)


def latest_event_timestamp(warehouse: Warehouse) -> pd.Timestamp:
    features = warehouse.read_features()
    if features.empty:
        raise LookupError("features_daily is empty: run `stockfeatures compute` first")
    return features["event_timestamp"].max()
