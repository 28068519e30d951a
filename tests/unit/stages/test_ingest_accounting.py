"""Every row a source returns lands in one bucket of the ingest summary (yfinance path).

The Yahoo collector is fed frames shaped like yf.download's (the network edge is the only
fake); the warehouse is the real parquet store of the local profile.
"""

from __future__ import annotations

import pandas as pd

from stockfeatures.prices.yahoo import YahooSource
from stockfeatures.stages.ingest import ingest
from stockfeatures.storage.parquet_warehouse import ParquetWarehouse
from stockfeatures.trading_calendar import session_close, sessions_between
from tests.unit.pipelines.yahoo_fakes import FakeDownload, download_frame, history

SESSIONS = sessions_between("2025-06-16", "2025-07-01")


def test_yfinance_ingest_accounts_for_unclosed_bars_later_bars_and_restatements(tmp_path):
    today = SESSIONS[-1]
    during_session = session_close([today])[0] - pd.Timedelta(hours=1)
    frame = download_frame({"AAPL": history(SESSIONS, seed=1), "MSFT": history(SESSIONS, seed=2)})
    warehouse = ParquetWarehouse(tmp_path)
    collector = YahooSource(FakeDownload(frame), clock=lambda: during_session, sleep=lambda s: None)

    first = ingest(collector, warehouse, ["AAPL", "MSFT"], SESSIONS[0].date(), SESSIONS[-3].date(),
                   known_at=during_session)
    counts = first.counts()
    assert counts["new_versions"] == 2 * (len(SESSIONS) - 2)
    assert counts["outside_window"] == 2 * 2  # downloaded through today to see later splits
    assert counts["fetched"] == sum(v for k, v in counts.items() if k != "fetched")
    assert (warehouse.read_bars()["created_timestamp"] == warehouse.read_bars()["event_timestamp"]).all()

    restated = frame.copy()
    restated.loc[SESSIONS[2], ("Close", "AAPL")] *= 1.02
    restated.loc[SESSIONS[2], ("High", "AAPL")] = restated.loc[SESSIONS[2], ("Close", "AAPL")] * 1.01
    collector.download = FakeDownload(restated)
    second = ingest(collector, warehouse, ["AAPL", "MSFT"], SESSIONS[0].date(), today.date(),
                    known_at=during_session)
    counts = second.counts()
    assert (counts["new_versions"], counts["unchanged"]) == (1 + 2, 2 * (len(SESSIONS) - 2) - 1)
    assert counts["not_yet_closed"] == 2  # today's in-progress bars
    assert counts["fetched"] == sum(v for k, v in counts.items() if k != "fetched")
    aapl = warehouse.read_bars(["AAPL"], SESSIONS[2], SESSIONS[2])
    assert aapl["created_timestamp"].iloc[0] == during_session
