"""The demo's intraday part: one sample session's 5-minute bars replayed through the push path.

The replay clock stops at bar ends (09:45, 10:00, ... 16:00 New York) and one push cycle
runs at each stop (stockfeatures.intraday.cycle.run_cycle, what the intraday_push flow
runs): the sample intraday source hands over the bars that have ended, the gates check them,
the warehouse stores them, the tier's math computes the features from the lookback and
Feast's push writes them online and offline. Every 5-minute bar of the session goes through
a cycle: a stop every CYCLE_EVERY_BARS bar ends with a fetch window of as many bars (the
flow's refetch_bars), i.e. the cycles the flow would run every 15 minutes. Why not one per
bar end: each cycle runs two Great Expectations suites (bars, features) whose cost does not
depend on the rows, so on this 2-core machine 78 cycles took 43 s (94 s under heavy load)
and these 26 take 13 s (30 s under that load).
The cycles are called directly, not as Prefect flow runs, for the same reason; the flow is
tested in tests/integration/intraday/test_push_cycle.py. Every half hour the online store
is read back, so the table shows what a live strategy would have been served then.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd

from stockfeatures.config import Settings
from stockfeatures.intraday.cycle import CycleReport, run_cycle
from stockfeatures.intraday.session_clock import NEW_YORK, session_slots
from stockfeatures.intraday.source import get_intraday_source
from stockfeatures.intraday.spec import BAR_LENGTH, INTRADAY_VIEW
from stockfeatures.profiles import open_feature_store, open_warehouse

SHOWN_FEATURES = ("ret_5m", "ret_since_open", "vwap_gap", "realized_vol_1h")
CYCLE_EVERY_BARS = 3  # a cycle every 15 minutes of replay clock, each fetching those 3 bars
SHOW_EVERY = 2  # cycles between two table blocks: every 30 minutes, and the close
TABLE_TITLE = "intraday features served online as the session unfolds"


def replay_clock(session: date, every: int = CYCLE_EVERY_BARS) -> pd.DatetimeIndex:
    """The instants (UTC) the replay's cycles run at: every `every`-th bar end, the close last."""
    ends = session_slots(pd.Timestamp(session)) + BAR_LENGTH
    return ends[every - 1::every].union(ends[-1:])


def served(store, tickers, clock: pd.Timestamp) -> pd.DataFrame:
    """What the online store serves now: one row per ticker, its bar time in New York."""
    response = store.get_online_features(
        features=[f"{INTRADAY_VIEW}:{name}" for name in SHOWN_FEATURES],
        entity_rows=[{"ticker": ticker} for ticker in tickers],
    ).to_dict(include_event_timestamps=True)
    bar = pd.to_datetime(response[f"{SHOWN_FEATURES[0]}__ts"], unit="s", utc=True)
    frame = pd.DataFrame({"time": bar.tz_convert(NEW_YORK).strftime("%H:%M"), "ticker": list(tickers)})
    for name in SHOWN_FEATURES:
        frame[name] = pd.to_numeric(pd.Series(response[name]), errors="coerce")
    frame.insert(0, "cycle", clock.tz_convert(NEW_YORK).strftime("%H:%M"))
    return frame


def _totals(reports: list[CycleReport]) -> str:
    stored = sum(r.bars_stored for r in reports)
    pushed = sum(r.push.pushed for r in reports if r.push is not None)
    quarantined = sum(r.quarantined + r.features_rejected for r in reports)
    return f"{stored} bars stored, {pushed} feature rows pushed, {quarantined} rows quarantined"


def replay_session(settings: Settings, session: date, tickers) -> pd.DataFrame:
    """Run one cycle per bar end of `session`; print and return the half-hourly table."""
    started = time.perf_counter()
    source = get_intraday_source("sample", tickers=list(tickers))
    warehouse = open_warehouse(settings)
    try:
        warehouse.migrate()
        store = open_feature_store(settings)
        clock = replay_clock(session)
        reports, blocks = [], []
        for position, now in enumerate(clock, start=1):
            reports.append(run_cycle(source, warehouse, store, now, tickers=list(tickers),
                                     refetch_bars=CYCLE_EVERY_BARS))
            if position % SHOW_EVERY == 0 or position == len(clock):
                blocks.append(served(store, tickers, now))
    finally:
        warehouse.close()
    table = pd.concat(blocks, ignore_index=True)
    print(f"\nintraday replay of {session} (sample 5-minute bars, {', '.join(tickers)}): "
          f"{len(clock)} push cycles, one every {CYCLE_EVERY_BARS} bar ends, {_totals(reports)}, "
          f"{time.perf_counter() - started:.1f} s")
    print(f"{TABLE_TITLE} (cycle: the replay clock, time: the bar online holds; New York):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.5f}", na_rep="NaN"))
    return table
