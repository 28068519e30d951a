"""A backfill over tickers its source lacks names them, loads the rest and ends Completed."""

from __future__ import annotations

from datetime import date

import pytest

from stockfeatures.config import load_settings
from stockfeatures.profiles import open_warehouse

pytestmark = pytest.mark.integration


def test_tickers_the_source_lacks_are_skipped_by_name_and_the_run_completes(prefect_api, local_repo):
    from pipelines.backfill import backfill

    state = backfill(date(2025, 6, 2), date(2025, 6, 30), tickers=["JPM", "GOOG", "KO", "NOPE"],
                     source="sample", chunk_size=2, materialize=False, return_state=True)

    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.ok
    assert "2 tickers not in the sample source, skipped: GOOG, NOPE" in summary.notes
    status = {row["ticker"]: row["status"] for row in summary.tickers}
    assert status["GOOG"] == status["NOPE"] == "skipped: the sample source has no data for it"
    assert status["JPM"] == status["KO"] == "ok"
    assert "2 skipped, not in the source: GOOG, NOPE" in summary.headline()
    stored = open_warehouse(load_settings()).read_bars()
    assert set(stored["ticker"]) == {"JPM", "KO", "SPY"}  # SPY: the benchmark joins every universe
