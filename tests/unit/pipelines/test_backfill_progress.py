"""Backfill chunk logs say how far along the run is, not only "chunk 3/6"."""

from __future__ import annotations

from pipelines.backfill import chunk_line


def test_chunk_line_has_tickers_done_bars_and_eta():
    assert chunk_line(3, 6, 75, 150, 31250, 25, 0, 60.0) == (
        "chunk 3/6: 75/150 tickers done (25 fetched, 0 already loaded), 31,250 bars so far, "
        "1 min 00 s elapsed, ETA 1 min 00 s")


def test_last_chunk_has_no_eta():
    assert chunk_line(6, 6, 150, 150, 62500, 25, 0, 120.0).endswith("2 min 00 s elapsed")
