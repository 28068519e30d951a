"""Library steps the Prefect flows need beyond stockfeatures.jobs, still without Prefect.

Small decisions the flows share:
which window a daily run re-fetches, when a re-fetched bar became known, which tickers a
backfill has already loaded, and which errors are worth a retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import psycopg

from stockfeatures.prices.source import PriceBatch, register_source, source_names
from stockfeatures.progress import Progress, or_silent
from stockfeatures.storage.errors import WriteFailed
from stockfeatures.storage.warehouse import Warehouse, WriteResult
from stockfeatures.trading_calendar import calendar, latest_completed_session
from stockfeatures.validation import GateResult, gate_raw_bars, quarantine_rejects

NEW_YORK = "America/New_York"
DEFAULT_REFETCH_SESSIONS = 10
YFINANCE_FACTORY = "stockfeatures.prices.yahoo:YahooSource"


def ensure_yfinance_registered() -> None:
    """Make get_source("yfinance") work even before the registry lists it as a built-in."""
    if "yfinance" not in source_names():
        register_source("yfinance", YFINANCE_FACTORY)


def is_transient_storage_error(error: BaseException) -> bool:
    """Worth retrying a write or read: the database was unreachable or dropped the connection.

    A rejected batch (InvalidFrame, ValidationFailed) is not: retrying cannot fix data.
    Writes are transactional and idempotent, so a retry after a failure mid-write neither
    duplicates rows nor leaves a partial batch.
    """
    return isinstance(error, WriteFailed | psycopg.OperationalError | psycopg.InterfaceError | OSError)


def refetch_window(as_of: pd.Timestamp, sessions: int = DEFAULT_REFETCH_SESSIONS) -> tuple[date, date]:
    """First and last session a daily run asks for: the trailing `sessions` completed sessions
    (so late restatements are caught) through the as_of date (whose bar, if still in
    progress, the collector drops)."""
    if sessions < 1:
        raise ValueError("the re-fetch window needs at least one session")
    last_closed = latest_completed_session(as_of)
    all_sessions = calendar().sessions
    position = all_sessions.get_loc(last_closed)
    first = all_sessions[max(position - sessions + 1, 0)]
    return first.date(), pd.Timestamp(as_of).tz_convert(NEW_YORK).date()


def stamp_known_at(batch: PriceBatch, known_at: pd.Timestamp) -> PriceBatch:
    """Re-fetched data became known now, not at its session close: a bar that differs from
    the stored one is then a restatement with the time it was learned, and an identical one
    is skipped by the warehouse (equal to the version before it)."""
    known = pd.Timestamp(known_at).tz_convert("UTC")

    def stamp(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        created = frame["event_timestamp"].where(frame["event_timestamp"] > known, known)
        return frame.assign(created_timestamp=created.astype("datetime64[ns, UTC]"))

    extra = {name: getattr(batch, name) for name in ("failures", "missing", "unclosed") if hasattr(batch, name)}
    return type(batch)(bars=stamp(batch.bars), actions=stamp(batch.actions), **extra)


def drop_unclosed(bars: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bars whose session closed by as_of, the (ticker, session) of the ones dropped).

    Every source goes through this, not only Yahoo: a bar is invisible before its close.
    """
    open_bar = (bars["event_timestamp"] > pd.Timestamp(as_of)).fillna(False).to_numpy(dtype=bool)
    return bars[~open_bar].reset_index(drop=True), bars.loc[open_bar, ["ticker", "session"]]


def write_prices(warehouse: Warehouse, bars: pd.DataFrame, actions: pd.DataFrame) -> tuple[WriteResult, WriteResult]:
    """Bars then actions, each one transaction. Actions go second so adjustment never sees an
    action whose bars were not stored."""
    return warehouse.write_bars(bars), warehouse.write_actions(actions)


def loaded_tickers(warehouse: Warehouse, tickers: Iterable[str], first: date, last: date) -> set[str]:
    """Tickers with a stored bar on both the first and the last session of [first, last].

    A backfill re-run skips them. Two one-session reads instead of the whole range: cheap
    enough to ask for every chunk.
    """
    tickers = list(tickers)
    sessions = calendar().sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))
    if sessions.empty or not tickers:
        return set()
    ends = [set(warehouse.read_bars(tickers=tickers, start=day, end=day)["ticker"])
            for day in (sessions[0], sessions[-1])]
    return ends[0] & ends[1]


@dataclass(frozen=True)
class CheckedIngest:
    """What `ingest_checked` did: the gate's verdict and the two writes."""

    batch: PriceBatch
    gate: GateResult
    bars: WriteResult
    actions: WriteResult
    quarantined: int

    def line(self) -> str:
        failures = getattr(self.batch, "failures", {})
        text = (f"ingest: {len(self.batch.bars)} bars fetched, {self.bars.inserted} new versions "
                f"stored, {self.bars.unchanged} unchanged, {len(self.gate.rejected)} rejected")
        if failures:
            text += f"; no data for {', '.join(sorted(failures))}"
        return text


def ingest_checked(source, warehouse: Warehouse, tickers: list[str] | None, start: date, end: date,
                   known_at: pd.Timestamp | None = None, progress: Progress | None = None) -> CheckedIngest:
    """Fetch -> raw gate -> quarantine -> write, in one call (the CLI's `ingest` for sources
    that leave value checks to the gate, such as yfinance). The caller decides whether a
    rejection should fail the command: `result.gate.raise_if_failed()`.
    `progress` counts the three stages (fetch, validate, store); None stays silent."""
    progress = or_silent(progress)
    progress.start("ingest", 3)
    batch = source.fetch(tickers, start, end)
    progress.advance(1, f"fetched {len(batch.bars)} bars")
    if known_at is not None:
        batch = stamp_known_at(batch, known_at)
    gate = gate_raw_bars(batch.bars)
    progress.advance(1, f"validated, {len(gate.rejected)} rejected")
    quarantined = quarantine_rejects(warehouse, "raw_prices", gate)
    actions = batch.actions[~batch.actions["ticker"].isin(gate.rejected_tickers)]
    bars_written, actions_written = write_prices(warehouse, gate.accepted, actions)
    progress.advance(1, f"stored {bars_written.inserted} new versions")
    return CheckedIngest(batch, gate, bars_written, actions_written, quarantined)
