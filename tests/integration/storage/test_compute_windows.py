"""The compute stage in bounded windows stores exactly what one pass over everything stores.

A 10,000-ticker x 5-year history (12.5 M rows) validated in one batch held 24 GB and was
killed (benchmarks/bench_scale.py); windows keep memory bounded, and must change no value,
knowledge time or rank, including the cross-sectional features and warm-up rows. Values
agree to 1e-8 relative, not bit for bit, exactly as the daily update's recompute of its last
sessions does: a window back-adjusts its bars by the corporate actions inside it only (every
feature is a ratio, so that scale cancels up to rounding), and rsi_14's Wilder smoothing,
which remembers all history, starts MAX_LOOKBACK + 5 sessions back, where the older history
weighs (13/14)^263 = 3e-9.
"""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.prices.sample import SampleSource
from stockfeatures.stages import compute, ingest
from stockfeatures.storage.parquet_warehouse import ParquetWarehouse

pytestmark = pytest.mark.integration

TICKERS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "SPY"]
START, END = "2023-01-03", "2024-12-31"


def _loaded(warehouse) -> None:
    ingest.ingest(SampleSource(tickers=TICKERS), warehouse, TICKERS, START, END,
                  known_at=pd.Timestamp("2025-01-02", tz="UTC"))


def _stored(warehouse) -> pd.DataFrame:
    return warehouse.read_features().sort_values(["ticker", "event_timestamp"]).reset_index(drop=True)


def test_windowed_compute_stores_the_rows_of_one_pass(warehouse, tmp_path):
    one_pass = ParquetWarehouse(tmp_path / "one_pass")
    one_pass.migrate()
    for store in (warehouse, one_pass):
        _loaded(store)
    windows = compute.compute_windows(warehouse, rows_per_window=len(TICKERS) * 30)
    assert len(windows) > 10
    sessions = [pd.Timestamp(d) for window in windows for d in window]
    assert sessions == sorted(sessions) and windows[0][0] == pd.Timestamp(START).date()

    windowed = compute.compute(warehouse, "SPY", rows_per_window=len(TICKERS) * 30)
    whole = compute.compute(one_pass, "SPY", rows_per_window=10**9)
    assert windowed.inserted == whole.inserted == len(_stored(one_pass)) > 0
    windowed_rows, whole_rows = _stored(warehouse), _stored(one_pass)
    keys = ["ticker", "event_timestamp", "created_timestamp"]
    pd.testing.assert_frame_equal(windowed_rows[keys], whole_rows[keys], check_exact=True)
    pd.testing.assert_frame_equal(windowed_rows, whole_rows, check_exact=False, rtol=1e-8, atol=1e-14)


def test_consecutive_windows_read_each_bar_once_and_get_the_bars_of_one_read(warehouse):
    """The backfill's HistoryReader keeps the raw history the next window needs and reads only
    the sessions after it: each window must still get exactly the adjusted bars that one read
    of [its history start, its end] gives (NVDA's split, dividends and RIVN's listing fall
    inside carried history), and every stored bar is read once in all."""
    from stockfeatures.prices.adjust import adjust_bars

    tickers = [*TICKERS, "NVDA", "RIVN"]  # NVDA splits on 2021-07-20; RIVN lists 2021-11-10
    ingest.ingest(SampleSource(tickers=tickers), warehouse, tickers, "2020-06-01", "2022-06-30",
                  known_at=pd.Timestamp("2022-07-01", tz="UTC"))
    windows = compute.compute_windows(warehouse, rows_per_window=len(tickers) * 40)
    assert len(windows) > 5
    reads = []
    read_bars = warehouse.read_bars

    def counted(*args, **kwargs):
        bars = read_bars(*args, **kwargs)
        reads.append(len(bars))
        return bars

    reader = compute.HistoryReader(warehouse, tickers_per_read=3, carry=True)
    reader.warehouse = type("Counted", (), {"read_bars": staticmethod(counted)})()
    order = ["ticker", "session"]
    for start, end in windows:
        got = reader.adjusted(start, end).sort_values(order, ignore_index=True)
        one_read = adjust_bars(read_bars(start=compute.history_start(start), end=end),
                               warehouse.read_actions()).sort_values(order, ignore_index=True)
        pd.testing.assert_frame_equal(got, one_read, check_exact=True)
    assert sum(reads) == len(read_bars())


def test_nothing_stored_gives_no_window_and_compute_says_so(warehouse):
    assert compute.compute_windows(warehouse) == []
    with pytest.raises(LookupError, match="no price bars stored"):
        compute.compute(warehouse, "SPY")


def test_bars_read_a_few_tickers_at_a_time_give_the_gate_the_rows_of_one_read(warehouse):
    """The compute stage reads and adjusts the lookback window in ticker batches to bound
    memory; the gate must see exactly the rows one read gives (the split and the dividends
    of the sample source included), bit for bit and in order."""
    from stockfeatures.prices.adjust import adjust_bars

    tickers = ["AAPL", "MSFT", "NVDA", "KO", "XOM", "SPY"]  # NVDA splits on 2021-07-20
    ingest.ingest(SampleSource(tickers=tickers), warehouse, tickers, "2020-06-01", "2021-12-31",
                  known_at=pd.Timestamp("2022-01-03", tz="UTC"))
    start = pd.Timestamp("2021-08-02").date()
    one_read = adjust_bars(warehouse.read_bars(start=compute.history_start(start)),
                           warehouse.read_actions())
    batched = compute._adjusted_history(warehouse, start, None, tickers_per_read=2)
    pd.testing.assert_frame_equal(batched, one_read, check_exact=True)


def test_a_bulk_compute_leaves_the_table_vacuumed_and_its_statistics_current(empty_dsn, monkeypatch):
    """After a backfill the planner must know the features table's size: point-in-time
    retrieval's `auto` picks its plan from the row estimate, and with the statistics
    autovacuum had not refreshed yet it streamed a 12.5 M-row table it believed small."""
    import psycopg

    from stockfeatures.storage.postgres_warehouse import PostgresWarehouse

    monkeypatch.setattr(compute, "STATISTICS_AFTER_ROWS", 1)
    warehouse = PostgresWarehouse(empty_dsn)
    try:
        _loaded(warehouse)
        report = compute.compute(warehouse, "SPY")
    finally:
        warehouse.close()
    with psycopg.connect(empty_dsn) as conn:
        estimated, pages, visible = conn.execute(
            "SELECT reltuples, relpages, relallvisible FROM pg_class "
            "WHERE relname = 'features_daily'").fetchone()
    assert estimated == report.inserted > 0
    # Vacuumed too: the first reads do not set hint bits and write the pages back.
    assert visible == pages > 0
