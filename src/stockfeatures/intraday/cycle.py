"""One 5-minute push cycle: fetch the bars that ended -> validate -> store -> compute -> push.

The flow (pipelines/intraday_push.py) runs this every 5 minutes during regular hours; a test
runs it with a fixed `now`. Every input row ends stored, unchanged or quarantined, and the
report counts each:
- bars whose end is after `now` have not ended: quarantined ("not ended"), never stored;
- bars failing the intraday_bars suite: quarantined with their rule;
- the rest are stored as versions known at their created_timestamp (`now` if the source
  gave none); a bar stored before with the same values adds nothing.
Features are computed for the accepted bars of the window, from each ticker's lookback window
(its stored bars of the last LOOKBACK_SESSIONS sessions, as known at `now`: the
volume_tod_ratio slot mean needs 20 earlier sessions), gated by the spec's bounds, and
pushed online and offline (stockfeatures.intraday.push). A rejected feature row is not
pushed, so online keeps the ticker's last good value.

The fetch window is the last `refetch_bars` bar ends up to now, so one missed cycle, or a
bar the source delivers late, is picked up by the next one; refetching is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from stockfeatures.intraday.bar_gate import BAR_STAGE, FEATURE_STAGE, gate_intraday_bars
from stockfeatures.intraday.market_hours import bar_ends, last_bar_end
from stockfeatures.intraday.push import PushResult, push_intraday_features
from stockfeatures.intraday.spec import BAR_LENGTH, TOD_SESSIONS
from stockfeatures.intraday.validation import gate_intraday_features
from stockfeatures.storage.tables import CREATED, EVENT, intraday_features_schema

BarFetcher = Callable[[Sequence[str] | None, pd.Timestamp, pd.Timestamp], pd.DataFrame]
FeatureComputer = Callable[[pd.DataFrame], pd.DataFrame]

DEFAULT_REFETCH_BARS = 3
LOOKBACK_SESSIONS = TOD_SESSIONS + 1  # today plus 20 earlier sessions
NOT_ENDED = "not ended: the bar's end is after the cycle's knowledge time"


@dataclass
class CycleReport:
    now: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp] | None
    fetched: int = 0
    not_ended: int = 0
    bars_rejected: int = 0
    bars_stored: int = 0
    bars_unchanged: int = 0
    features_computed: int = 0
    features_rejected: int = 0
    push: PushResult | None = None
    rejected_reasons: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if self.window is None:
            return [f"{self.now}: no bar has ended yet"]
        start, end = self.window
        out = [f"bars ended in ({start}, {end}]: {self.fetched} fetched, {self.bars_stored} new, "
               f"{self.bars_unchanged} already stored, {self.bars_rejected} quarantined, "
               f"{self.not_ended} not ended (quarantined)",
               f"features: {self.features_computed} computed for new bars, "
               f"{self.features_rejected} quarantined"]
        if self.push is not None:
            out.append(self.push.line())
        return out

    @property
    def ok(self) -> bool:
        return not (self.bars_rejected or self.not_ended or self.features_rejected)


def default_compute() -> FeatureComputer:
    """The tier's feature computation (helper h1's stockfeatures.intraday.compute_intraday_features)."""
    import stockfeatures.intraday as intraday

    compute = getattr(intraday, "compute_intraday_features", None)
    if compute is None:
        raise RuntimeError("stockfeatures.intraday.compute_intraday_features is not available yet; "
                           "pass compute= to run_cycle")
    return compute


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


def lookback_start(end: pd.Timestamp) -> pd.Timestamp:
    """The open of the session LOOKBACK_SESSIONS sessions back (today included) from `end`."""
    from stockfeatures import trading_calendar

    cal = trading_calendar.calendar()
    day = end.tz_convert("America/New_York").normalize().tz_localize(None)
    sessions = cal.opens.loc[:day]
    return sessions.iloc[max(len(sessions) - LOOKBACK_SESSIONS, 0)]


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


def run_cycle(fetch: BarFetcher, warehouse, store, now: pd.Timestamp,
              tickers: Sequence[str] | None = None, compute: FeatureComputer | None = None,
              refetch_bars: int = DEFAULT_REFETCH_BARS) -> CycleReport:
    """One cycle as known at `now` (UTC-aware); see the module docstring."""
    window = fetch_window(now, refetch_bars)
    report = CycleReport(now=now, window=window)
    if window is None:
        return report
    start, end = window
    bars = fetch(list(tickers) if tickers is not None else None, start, end)
    report.fetched = len(bars)
    if bars.empty:
        return report
    bars = _with_knowledge_time(bars, now)
    ended = pd.to_datetime(bars[EVENT], utc=True) <= now
    report.not_ended = _quarantine(warehouse, BAR_STAGE, bars[~ended], NOT_ENDED, report)
    gate = gate_intraday_bars(bars[ended])
    report.bars_rejected = _quarantine(warehouse, BAR_STAGE, gate.rejected, gate.rejected.get("reason"),
                                       report) if len(gate.rejected) else 0
    if gate.accepted.empty:
        return report
    written = warehouse.write_intraday_bars(gate.accepted)
    report.bars_stored, report.bars_unchanged = written.inserted, written.unchanged
    # Features for every accepted bar, not only the newly stored ones: a cycle that stored
    # bars and then failed before its push is completed by the next (the push dedups).
    new = gate.accepted[["ticker", EVENT]].drop_duplicates()
    new[EVENT] = pd.to_datetime(new[EVENT], utc=True).astype("datetime64[ns, UTC]")
    lookback = warehouse.read_intraday_bars(tickers=sorted(new["ticker"].unique()),
                                            start=lookback_start(end), end=end, as_of=now)
    features = (compute or default_compute())(lookback)
    features = features.merge(new, on=["ticker", EVENT], how="inner")
    features = features[list(intraday_features_schema().columns)]
    report.features_computed = len(features)
    feature_gate = gate_intraday_features(features)
    if len(feature_gate.rejected):
        report.features_rejected = _quarantine(warehouse, FEATURE_STAGE, feature_gate.rejected,
                                               feature_gate.rejected["reason"], report)
    report.push = push_intraday_features(store, warehouse, feature_gate.accepted)
    return report
