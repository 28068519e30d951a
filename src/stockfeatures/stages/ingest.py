"""Ingest stage: source -> knowledge time -> raw gate -> quarantine -> prices and actions.

The one path the CLI (`stockfeatures ingest`), the Prefect flows and library callers run.
Every row the source read ends in exactly one named bucket of the summary:

    fetched = new versions + unchanged + quarantined + outside the window
              + not yet closed + not requested

(docs/data-integrity.md). Rules: knowledge time in stages/knowledge_time.py, rejection
granularity in validation/raw_gate.py, row checks in prices/normalize.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import pandas as pd

from stockfeatures.prices.source import PriceBatch, PriceSource
from stockfeatures.progress import Progress, or_silent
from stockfeatures.stages.knowledge_time import (
    ACTION_KEY,
    BAR_KEY,
    drop_unclosed,
    stamp_knowledge_time,
    utc_known_at,
)
from stockfeatures.storage.warehouse import Warehouse, WriteResult
from stockfeatures.validation import GateResult, gate_raw_bars, quarantine_rejects
from stockfeatures.validation.raw_gate import first_bad_sessions, withheld_reason, withhold_after

RAW_STAGE = "raw_prices"
ACTIONS_STAGE = "raw_actions"


class AccountingError(RuntimeError):
    """Rows went missing between the source and the stores: a bug, never a data problem."""


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did; `counts()` accounts for every row the source read."""

    batch: PriceBatch
    gate: GateResult  # source-refused rows + the raw suite's rejects + withheld bars
    bars: WriteResult
    actions: WriteResult
    quarantined: int
    unclosed: pd.DataFrame  # (ticker, session) refused: not closed at known_at
    known_at: pd.Timestamp
    seconds: float

    def counts(self) -> dict[str, int]:
        source_unclosed = len(getattr(self.batch, "unclosed", ()))
        return {
            "fetched": len(self.batch.bars) + len(self.batch.rejected) + self.batch.outside_window
            + self.batch.not_requested + source_unclosed,
            "new_versions": self.bars.inserted,
            "unchanged": self.bars.unchanged,
            "quarantined": len(self.gate.rejected),
            "outside_window": self.batch.outside_window,
            "not_yet_closed": len(self.unclosed) + source_unclosed,
            "not_requested": self.batch.not_requested,
        }

    def check_accounting(self) -> None:
        counts = self.counts()
        accounted = sum(value for name, value in counts.items() if name != "fetched")
        if accounted != counts["fetched"]:
            raise AccountingError(f"ingest lost rows: {counts} (accounted {accounted})")

    def line(self) -> str:
        c = self.counts()
        text = (f"ingest: {c['fetched']} rows fetched: {c['new_versions']} new versions, "
                f"{c['unchanged']} unchanged, {c['quarantined']} quarantined, "
                f"{c['outside_window']} outside the window, {c['not_yet_closed']} not yet closed, "
                f"{c['not_requested']} not requested")
        failures = getattr(self.batch, "failures", {})
        if failures:
            text += f"; no data for {', '.join(sorted(failures))}"
        return text


def _stored(reader, frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    tickers = sorted(frame["ticker"].unique())
    return reader(tickers=tickers, start=frame[date_column].min().date(), end=frame[date_column].max().date())


def _actions_to_write(actions: pd.DataFrame, gate: GateResult,
                      known_at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(actions to store, actions withheld with their ticker's bars, with `reason`).

    An action on or after a ticker's first rejected session waits with the bars (its
    adjustment would otherwise apply to bars that are not stored). Actions not yet effective
    at known_at are left for a later run, like unclosed bars.
    """
    actions, _ = drop_unclosed(actions, known_at, key=tuple(ACTION_KEY))
    firsts = first_bad_sessions(gate.rejected)
    held = withhold_after(actions.rename(columns={"ex_date": "session"}), firsts)
    reasons = [withheld_reason(firsts.get(t)) for t in actions.loc[held, "ticker"]]
    return actions[~held].reset_index(drop=True), actions[held].assign(reason=reasons)


def _refuse_double_adjustment(source: PriceSource, warehouse: Warehouse, bars: pd.DataFrame) -> None:
    if not getattr(source, "adjusted", False) or bars.empty:
        return
    stored = warehouse.read_actions(tickers=sorted(bars["ticker"].unique()))
    if len(stored):
        raise ValueError(
            f"vendor-adjusted prices for {', '.join(sorted(stored['ticker'].unique()))}, which have stored "
            "corporate actions: adjusting again would count them twice; load raw prices with their "
            "actions instead, or use a separate warehouse for adjusted data (docs/data-integrity.md)"
        )


def write_prices(warehouse: Warehouse, bars: pd.DataFrame, actions: pd.DataFrame) -> tuple[WriteResult, WriteResult]:
    """Bars then actions, each one transaction. Actions go second so adjustment never sees an
    action whose bars were not stored."""
    return warehouse.write_bars(bars), warehouse.write_actions(actions)


def ingest(source: PriceSource, warehouse: Warehouse, tickers: list[str] | None = None,
           start: date | str | None = None, end: date | str | None = None,
           known_at: pd.Timestamp | str | None = None,
           progress: Progress | None = None) -> IngestResult:
    """Fetch, stamp knowledge time, gate, quarantine the rejects, store the rest.

    start/end None: whatever the source has (a CSV's whole file). known_at None: the source's
    own `known_at` if it has one, else now. The caller decides whether quarantined rows
    should fail the command (`result.gate.raise_if_failed()`). `progress` counts the three
    stages (fetch, validate, store); None stays silent.
    """
    progress = or_silent(progress)
    progress.start("ingest", 3)
    started = time.perf_counter()
    known = utc_known_at(known_at if known_at is not None else getattr(source, "known_at", None))
    batch = source.fetch(tickers, start, end)
    progress.advance(1, f"fetched {len(batch.bars)} bars")
    bars, unclosed = drop_unclosed(batch.bars, known)
    gate = gate_raw_bars(bars, source_rejects=batch.rejected if len(batch.rejected) else None)
    _refuse_double_adjustment(source, warehouse, gate.accepted)
    actions, held_actions = _actions_to_write(batch.actions, gate, known)
    accepted = stamp_knowledge_time(gate.accepted, _stored(warehouse.read_bars, gate.accepted, "session"),
                                    BAR_KEY, known)
    actions = stamp_knowledge_time(actions, _stored(warehouse.read_actions, actions, "ex_date"), ACTION_KEY, known)
    progress.advance(1, f"validated, {len(gate.rejected)} rejected")
    quarantined = quarantine_rejects(warehouse, RAW_STAGE, gate)
    if len(held_actions):
        warehouse.quarantine(ACTIONS_STAGE, held_actions.drop(columns=["reason"]), held_actions["reason"])
    bars_written, actions_written = write_prices(warehouse, accepted, actions)
    progress.advance(1, f"stored {bars_written.inserted} new versions")
    result = IngestResult(batch, gate, bars_written, actions_written, quarantined, unclosed, known,
                          time.perf_counter() - started)
    result.check_accounting()
    return result
