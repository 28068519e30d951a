"""One 5-minute push cycle: ask the source for the bars that ended -> validate -> store ->
compute the features from the lookback -> gate -> push.

The flow (pipelines/intraday_push.py) runs this every 5 minutes during regular hours; the
demo replays a session with it, a test runs it with a fixed `now`. The source is an
IntradaySource (stockfeatures.intraday.source, one registry: sample, csv, yfinance or any
registered name), asked for the sessions of the cycle's window as known at `now`. Every row
the source read ends in exactly one bucket of the CycleReport (`accounted() == read`):
- stored as a new version (known at its created_timestamp; `now` if the source gave none),
  or already stored with the same values (unchanged);
- quarantined with its reason: rows the source refused (batch.rejected), bars failing the
  intraday_bars suite, and bars ending after `now` a buggy source returned ("not ended");
- counted only: bars the source itself dropped as not ended (Yahoo's forming bar), bars of
  the requested sessions outside the window (an earlier cycle stored them: not stored twice),
  rows of tickers not requested. Tickers the source had nothing for (`failures`) are listed.
Features are computed with the tier's own math (compute.latest_intraday_features) for the
accepted bars of the window, from each ticker's stored bars since compute.history_start
(as known at `now`), gated by the spec-derived suite (validation.gate_intraday_features with
the lookback bars, so warm-up is judged on the bars present), and pushed online and offline
(stockfeatures.intraday.push). A rejected feature row is not pushed, so online keeps the
ticker's last good value.

The fetch window is the last `refetch_bars` bar ends up to now, so one missed cycle, or a
bar the source delivers late, is picked up by the next one; refetching is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from stockfeatures.intraday import session_clock
from stockfeatures.intraday.bar_gate import BAR_STAGE, FEATURE_STAGE, gate_intraday_bars
from stockfeatures.intraday.compute import history_start, latest_intraday_features
from stockfeatures.intraday.push import PushResult, push_intraday_features
from stockfeatures.intraday.session_clock import bar_ends, last_bar_end
from stockfeatures.intraday.source import IntradayBatch, IntradaySource
from stockfeatures.intraday.spec import BAR_LENGTH
from stockfeatures.intraday.validation import gate_intraday_features
from stockfeatures.storage.tables import CREATED, EVENT, intraday_features_schema

DEFAULT_REFETCH_BARS = 3
NOT_ENDED = "not ended: the bar's end is after the cycle's knowledge time"


@dataclass
class CycleReport:
    """What one cycle did with every row its source read (module docstring)."""

    now: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp] | None
    read: int = 0
    fetched: int = 0
    source_rejected: int = 0
    not_ended: int = 0
    outside_window: int = 0
    not_requested: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    bars_rejected: int = 0
    bars_stored: int = 0
    bars_unchanged: int = 0
    features_computed: int = 0
    features_rejected: int = 0
    push: PushResult | None = None
    rejected_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        return self.source_rejected + self.bars_rejected

    def accounted(self) -> int:
        """Rows in the buckets; equals `read` when no row was lost."""
        return (self.bars_stored + self.bars_unchanged + self.quarantined + self.not_ended
                + self.outside_window + self.not_requested)

    def lines(self) -> list[str]:
        if self.window is None:
            return [f"{self.now}: no bar has ended yet"]
        start, end = self.window
        out = [f"bars ended in ({start}, {end}]: {self.read} read, {self.bars_stored} new, "
               f"{self.bars_unchanged} already stored, {self.quarantined} quarantined, "
               f"{self.outside_window} outside the window, {self.not_ended} not ended, "
               f"{self.not_requested} not requested"]
        if self.failures:
            out.append(f"no bars for {len(self.failures)} tickers: "
                       + "; ".join(f"{t} ({why})" for t, why in sorted(self.failures.items())))
        out.append(f"features: {self.features_computed} computed for the window's bars, "
                   f"{self.features_rejected} quarantined")
        if self.push is not None:
            out.append(self.push.line())
        return out

    @property
    def ok(self) -> bool:
        return not (self.quarantined or self.features_rejected or self.failures)


def fetch_window(now: pd.Timestamp, refetch_bars: int = DEFAULT_REFETCH_BARS
                 ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(start, end]: the last `refetch_bars` bar ends at or before `now`, across sessions."""
    if refetch_bars < 1:
        raise ValueError(f"refetch_bars must be >= 1, got {refetch_bars}")
    end = last_bar_end(now)
    if end is None:
        return None
    ends = bar_ends(end - pd.Timedelta(days=10), end)
    first = ends[max(len(ends) - refetch_bars, 0)]
    return first - pd.Timedelta(BAR_LENGTH), end


def _session_of(instant: pd.Timestamp) -> pd.Timestamp:
    """The New York date of a bar start (a tz-naive session date)."""
    return instant.tz_convert(session_clock.NEW_YORK).tz_localize(None).normalize()


def lookback_start(window_start: pd.Timestamp) -> pd.Timestamp:
    """Open (UTC) of compute.history_start for the window's first session: the features of
    the window's bars read nothing earlier."""
    return session_clock.session_slots(history_start(_session_of(window_start)))[0]


def _with_knowledge_time(bars: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    out = bars.reset_index(drop=True).copy()
    if CREATED not in out:
        out[CREATED] = now
    out[CREATED] = pd.to_datetime(out[CREATED], utc=True).fillna(now)
    return out


def _quarantine(warehouse, stage: str, rows: pd.DataFrame, reason, report: CycleReport) -> int:
    if rows.empty:
        return 0
    reasons = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=rows.index)
    for text, count in reasons.value_counts().items():
        report.rejected_reasons[str(text)] = report.rejected_reasons.get(str(text), 0) + int(count)
    return warehouse.quarantine(stage, rows.drop(columns=["reason"], errors="ignore"), reasons)


def _account(batch: IntradayBatch, report: CycleReport) -> None:
    report.fetched = len(batch.bars)
    report.not_ended = batch.not_ended
    report.outside_window = batch.outside_window
    report.not_requested = batch.not_requested
    report.failures = dict(batch.failures)
    report.read = (len(batch.bars) + len(batch.rejected) + batch.not_ended + batch.outside_window
                   + batch.not_requested)


def _store_bars(warehouse, batch: IntradayBatch, window, now, report: CycleReport) -> pd.DataFrame:
    """Quarantine, count or store every row of the batch; the accepted bars of the window."""
    start, end = window
    report.source_rejected = _quarantine(warehouse, BAR_STAGE, batch.rejected,
                                         batch.rejected.get("reason", "rejected by the source"), report)
    bars = _with_knowledge_time(batch.bars, now)
    if bars.empty:
        return bars
    stamps = pd.to_datetime(bars[EVENT], utc=True)
    ended = stamps <= now
    report.bars_rejected = _quarantine(warehouse, BAR_STAGE, bars[~ended], NOT_ENDED, report)
    inside = ended & (stamps > start) & (stamps <= end)
    report.outside_window += int((ended & ~inside).sum())
    gate = gate_intraday_bars(bars[inside])
    if len(gate.rejected):
        report.bars_rejected += _quarantine(warehouse, BAR_STAGE, gate.rejected, gate.rejected["reason"], report)
    if not gate.accepted.empty:
        written = warehouse.write_intraday_bars(gate.accepted)
        report.bars_stored, report.bars_unchanged = written.inserted, written.unchanged
    return gate.accepted


def run_cycle(source: IntradaySource, warehouse, store, now: pd.Timestamp,
              tickers: Sequence[str] | None = None,
              refetch_bars: int = DEFAULT_REFETCH_BARS) -> CycleReport:
    """One cycle as known at `now` (UTC-aware); see the module docstring."""
    window = fetch_window(now, refetch_bars)
    report = CycleReport(now=now, window=window)
    if window is None:
        return report
    start, end = window
    batch = source.fetch(list(tickers) if tickers is not None else None,
                         _session_of(start).date(), _session_of(end - BAR_LENGTH).date(), as_of=now)
    _account(batch, report)
    accepted = _store_bars(warehouse, batch, window, now, report)
    if accepted.empty:
        return report
    # Features for every accepted bar, not only the newly stored ones: a cycle that stored
    # bars and then failed before its push is completed by the next (the push dedups).
    keys = accepted[["ticker", EVENT]].drop_duplicates()
    keys[EVENT] = pd.to_datetime(keys[EVENT], utc=True).astype("datetime64[ns, UTC]")
    lookback = warehouse.read_intraday_bars(tickers=sorted(keys["ticker"].unique()),
                                            start=lookback_start(start), end=end, as_of=now)
    features = latest_intraday_features(lookback, ended_after=start)
    features = features.merge(keys, on=["ticker", EVENT], how="inner")
    features = features[list(intraday_features_schema().columns)]
    report.features_computed = len(features)
    feature_gate = gate_intraday_features(features, bars=lookback)
    if len(feature_gate.rejected):
        report.features_rejected = _quarantine(warehouse, FEATURE_STAGE, feature_gate.rejected,
                                               feature_gate.rejected["reason"], report)
    report.push = push_intraday_features(store, warehouse, feature_gate.accepted)
    return report
