"""Compute stage: latest known bars -> features -> features gate -> quarantine -> features_daily."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import pandas as pd

from stockfeatures.features import compute_features
from stockfeatures.features.spec import MAX_LOOKBACK
from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.progress import Progress, or_silent
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


def gate_stored_features(warehouse: Warehouse, benchmark: str, start: date | None = None,
                         end: date | None = None):
    """Feature rows for [start, end] from the latest known bars, validated in two passes
    (stockfeatures.validation.feature_passes: per-ticker features, then cross-sectional ones
    over accepted rows only), NOT written. The bars are read with MAX_LOOKBACK sessions of
    history before `start`. Returns the GateResult (accepted rows to store, rejected rows
    with their reason for the quarantine)."""
    from stockfeatures.validation.feature_passes import gate_feature_passes

    read_from = history_start(start) if start else None
    bars = latest_versions(warehouse.read_bars(start=read_from, end=end))
    if bars.empty:
        raise LookupError("no price bars stored for that range: run `stockfeatures ingest` first")
    return gate_feature_passes(adjust_bars(bars, warehouse.read_actions()), benchmark, start)


def compute(
    warehouse: Warehouse,
    benchmark: str,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
) -> StepReport:
    """Compute and validate, quarantine what fails, store what passes; raise if anything failed.

    Unchanged values are not re-stored (the warehouse compares with the latest version).
    `progress` counts the two stages (compute and validate, store); None stays silent.
    """
    from stockfeatures.validation import quarantine_rejects

    progress = or_silent(progress)
    started = time.perf_counter()
    progress.start("compute", 2)
    gate = gate_stored_features(warehouse, benchmark, start, end)
    progress.advance(1, f"computed and validated {gate.checked} rows, {len(gate.rejected)} rejected")
    quarantine_rejects(warehouse, "features_daily", gate)
    written = warehouse.write_features(gate.accepted)
    progress.advance(1, f"stored {written.inserted} new versions")
    gate.raise_if_failed()
    tickers = set(gate.accepted["ticker"]) | set(gate.rejected.get("ticker", []))
    return StepReport(
        "compute", gate.checked, written.inserted, written.unchanged, len(tickers),
        time.perf_counter() - started,
    )


def latest_event_timestamp(warehouse: Warehouse) -> pd.Timestamp:
    features = warehouse.read_features()
    if features.empty:
        raise LookupError("features_daily is empty: run `stockfeatures compute` first")
    return features["event_timestamp"].max()
