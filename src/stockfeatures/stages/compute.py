"""Compute stage: latest known bars -> features -> features gate -> quarantine -> features_daily."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import pandas as pd

from stockfeatures.features import compute_features
from stockfeatures.features.spec import MAX_LOOKBACK
from stockfeatures.prices.adjust import adjust_bars
from stockfeatures.progress import Progress, or_silent
from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.trading_calendar import calendar

NEW_YORK = "America/New_York"
# Feature rows computed and validated at once (compute_windows; bench_scale.py shows the peak).
ROWS_PER_WINDOW = 1_000_000
# Tickers whose bars are read and adjusted at once (_adjusted_history).
TICKERS_PER_READ = 2_000
# New feature versions after which the stage refreshes the table's planner statistics: a
# backfill outruns autovacuum, and point-in-time plans are chosen from those statistics.
STATISTICS_AFTER_ROWS = 100_000


@dataclass(frozen=True)
class StepReport:
    """What a step did, in numbers a run summary (or a Prefect artifact) can show."""

    step: str
    rows_in: int
    inserted: int
    unchanged: int
    tickers: int
    seconds: float
    validate_seconds: float = 0.0  # of `seconds`: the Great Expectations runs
    write_seconds: float = 0.0  # of `seconds`: storing the new versions

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


class HistoryReader:
    """Adjusted latest-known bars for consecutive windows, each bar read from the database once.

    A window needs MAX_LOOKBACK sessions of history before its start, which the window before
    it has read already: at 10,000 tickers and ~100-session windows, re-reading that history
    made every window read 3.5x its own bars (46 M bar reads for a 12.5 M-bar backfill). With
    `carry`, the raw bars the next window's history needs are kept (MAX_LOOKBACK + 5 sessions
    of every ticker, ~2.6 M bars at 10,000 tickers), and the next window reads only the
    sessions after them. Every read is pinned to the knowledge time the reader was made at, so
    all windows see one snapshot of the prices table; each window gets the bars one read of
    [history start, end] gives (tests/integration/storage/test_compute_windows.py).

    Reads and adjustment go `tickers_per_read` tickers at a time (adjustment is per ticker, so
    the rows are the same as from one read), because a read's transient buffers are ~3x the
    frame it returns: at 10,000 tickers the daily update's 2.6 M-bar lookback window peaked
    at 1.1 GB in one read. adjust_bars keeps the latest version of each bar itself.
    """

    def __init__(self, warehouse: Warehouse, tickers_per_read: int = TICKERS_PER_READ,
                 carry: bool = False) -> None:
        self.warehouse = warehouse
        self.tickers_per_read = tickers_per_read
        self.carry = carry
        self.as_of = pd.Timestamp.now(tz="UTC")
        self.tickers = sorted(warehouse.tickers())
        self.actions = warehouse.read_actions(as_of=self.as_of)
        self._kept: list[pd.DataFrame] = []  # raw bars per ticker chunk, from _kept_from on
        self._kept_from: pd.Timestamp | None = None
        self._through: pd.Timestamp | None = None  # the last `end` whose bars _kept holds

    def _read(self, first: int, start, end) -> pd.DataFrame:
        return self.warehouse.read_bars(tickers=self.tickers[first:first + self.tickers_per_read],
                                        start=start, end=end, as_of=self.as_of)

    def adjusted(self, start: date | None, end: date | None) -> pd.DataFrame:
        """Adjusted bars for [start, end] with MAX_LOOKBACK sessions of history before it."""
        read_from = history_start(start) if start else None
        carried = (self._through is not None and read_from is not None and end is not None
                   and self._kept_from <= read_from <= self._through + pd.Timedelta(days=1)
                   and pd.Timestamp(end) > self._through)
        keep_from = None
        if self.carry and end is not None and start is not None:
            keep_from = history_start(calendar().next_session(calendar().date_to_session(
                pd.Timestamp(end), direction="previous")))
        read_start = (self._through + pd.Timedelta(days=1)).date() if carried else read_from
        parts, kept = [], []
        # The next batch is read while this one is adjusted (one read in flight, so at most
        # two batches held): a read mostly waits on PostgreSQL, which sorts and formats on its
        # own core meanwhile.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-bars") as reads:
            firsts = range(0, len(self.tickers), self.tickers_per_read)
            pending = reads.submit(self._read, firsts[0], read_start, end) if firsts else None
            for position in range(len(firsts)):
                new = pending.result()
                if position + 1 < len(firsts):
                    pending = reads.submit(self._read, firsts[position + 1], read_start, end)
                bars = new
                if carried:
                    old = self._kept[position]
                    old = old[(old["session"] >= read_from).to_numpy()]
                    bars = pd.concat([old, new], ignore_index=True) if len(new) else old
                    if len(old) and len(new):  # back in (ticker, session) order
                        bars = bars.sort_values(["ticker", "session"], kind="stable",
                                                ignore_index=True)
                if keep_from is not None:
                    kept.append(bars[(bars["session"] >= keep_from).to_numpy()])
                if len(bars):
                    parts.append(adjust_bars(bars, self.actions))
        self._kept, self._kept_from = kept, keep_from
        self._through = pd.Timestamp(end) if keep_from is not None else None
        if not parts:
            raise LookupError("no price bars stored for that range: run `stockfeatures ingest` first")
        # Tickers are read in sorted order, so the parts stay in (ticker, session) order.
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _adjusted_history(warehouse: Warehouse, start: date | None, end: date | None,
                      tickers_per_read: int = TICKERS_PER_READ) -> pd.DataFrame:
    """Adjusted latest-known bars for [start, end] with MAX_LOOKBACK sessions of history (one
    window: HistoryReader without a window before it)."""
    return HistoryReader(warehouse, tickers_per_read).adjusted(start, end)


def compute_candidates(warehouse: Warehouse, benchmark: str, start: date | None = None,
                       end: date | None = None) -> pd.DataFrame:
    """Feature rows for sessions in [start, end] from the latest known bars, NOT written.

    Always over the whole stored universe: mom_12_1_rank and beta_60d are cross-sectional,
    so a per-ticker recompute would change their meaning. Carries a history_length column
    (the row's sessions of own history) for the features suite's warm-up rule; the history
    read goes MAX_LOOKBACK sessions before `start`, so the count is exact where it matters.
    """
    from stockfeatures.validation.prepare import HISTORY_LENGTH, history_lengths

    features = compute_features(_adjusted_history(warehouse, start, end), benchmark=benchmark)
    features[HISTORY_LENGTH] = history_lengths(features).to_numpy()
    if start is not None:
        sessions = features["event_timestamp"].dt.tz_convert(NEW_YORK).dt.date
        features = features[(sessions >= start).to_numpy()]
    return features.reset_index(drop=True)


def gate_stored_features(warehouse: Warehouse, benchmark: str, start: date | None = None,
                         end: date | None = None, reader: HistoryReader | None = None):
    """Feature rows for [start, end] from the latest known bars, validated in two passes
    (stockfeatures.validation.feature_passes: per-ticker features, then cross-sectional ones
    over accepted rows only), NOT written. The bars are read with MAX_LOOKBACK sessions of
    history before `start` (by `reader` when given: consecutive windows share one). Returns
    the GateResult (accepted rows to store, rejected rows with their reason for the quarantine)."""
    from stockfeatures.validation.feature_passes import gate_feature_passes

    bars = (reader or HistoryReader(warehouse)).adjusted(start, end)
    return gate_feature_passes(bars, benchmark, start)


def compute_windows(warehouse: Warehouse, start: date | None = None, end: date | None = None,
                    rows_per_window: int = ROWS_PER_WINDOW) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive session windows of about `rows_per_window` feature
    rows each (sessions x stored tickers); None bounds mean the stored bars' first/last session.

    Each window is computed and validated with its own MAX_LOOKBACK history, which gives the
    same rows as one pass over everything, to 1e-8 relative as for the daily update's recompute
    (a window back-adjusts by the corporate actions inside it, which every feature, a ratio,
    cancels up to rounding; rsi_14's smoothing starts MAX_LOOKBACK + 5 sessions back, where
    older history weighs 3e-9), but memory stays bounded: Great Expectations held 24 GB validating 12.5 M rows (10,000 tickers
    x 5 years) in one batch and was killed. [] when nothing is stored in the range.
    """
    stored = warehouse.session_range()
    if stored is None:
        return []
    first = max(pd.Timestamp(start), stored[0]) if start else stored[0]
    last = min(pd.Timestamp(end), stored[1]) if end else stored[1]
    sessions = calendar().sessions_in_range(first, last)
    if sessions.empty:
        return []
    per_window = max(rows_per_window // max(len(warehouse.tickers()), 1), 20)
    return [(sessions[i].date(), sessions[min(i + per_window, len(sessions)) - 1].date())
            for i in range(0, len(sessions), per_window)]


def compute(
    warehouse: Warehouse,
    benchmark: str,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
    rows_per_window: int = ROWS_PER_WINDOW,
) -> StepReport:
    """Compute and validate, quarantine what fails, store what passes; raise if anything failed.

    Window by window (compute_windows), each stored before the next is computed. Unchanged
    values are not re-stored (the warehouse compares with the latest version). `progress`
    counts the windows; None stays silent.
    """
    from stockfeatures.validation import GateResult, quarantine_rejects

    progress = or_silent(progress)
    started = time.perf_counter()
    windows = compute_windows(warehouse, start, end, rows_per_window)
    if not windows:
        raise LookupError("no price bars stored for that range: run `stockfeatures ingest` first")
    progress.start("compute", len(windows))
    gates, inserted, unchanged, tickers, write_s = [], 0, 0, set(), 0.0
    reader = HistoryReader(warehouse, carry=len(windows) > 1)
    for window_start, window_end in windows:
        gate = gate_stored_features(warehouse, benchmark, window_start, window_end, reader)
        quarantine_rejects(warehouse, "features_daily", gate)
        writing = time.perf_counter()
        written = warehouse.write_features(gate.accepted)
        write_s += time.perf_counter() - writing
        inserted, unchanged = inserted + written.inserted, unchanged + written.unchanged
        tickers |= set(gate.accepted["ticker"]) | set(gate.rejected.get("ticker", []))
        gates.append(keys_only(gate))
        progress.advance(1, f"{window_start}..{window_end}: {gate.checked} rows, "
                            f"{len(gate.rejected)} rejected, {written.inserted} new versions")
    if inserted >= STATISTICS_AFTER_ROWS:
        warehouse.refresh_statistics()
    combined = GateResult.combine(gates)
    combined.raise_if_failed()
    return StepReport("compute", combined.checked, inserted, unchanged, len(tickers),
                      time.perf_counter() - started, combined.seconds, write_s)


def keys_only(gate):
    """The gate with its accepted rows cut to their keys: they are stored already, and a
    summary over many windows needs only which rows they were and what was rejected."""
    from dataclasses import replace

    return replace(gate, accepted=gate.accepted[["ticker", "event_timestamp"]])


def latest_event_timestamp(warehouse: Warehouse) -> pd.Timestamp:
    features = warehouse.read_features()
    if features.empty:
        raise LookupError("features_daily is empty: run `stockfeatures compute` first")
    return features["event_timestamp"].max()
