"""The demo through the flows: backfill sample history, then one daily update, ephemeral mode.

Sample prices stand in for Yahoo (no network needed); everything else is what production
runs: gates, quarantine, versioned writes, Feast materialization and run artifacts.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd

from pipelines.backfill import backfill
from pipelines.daily_update import daily_update
from stockfeatures.config import load_settings
from stockfeatures.demo import show_results
from stockfeatures.prices.sample import SampleSource
from stockfeatures.trading_calendar import session_close, sessions_between

BACKFILL_START = date(2021, 1, 4)
BACKFILL_END = date(2025, 12, 30)
DAILY_SESSION = date(2025, 12, 31)


def run_demo_flows(profile: str | None = None) -> None:
    started = time.perf_counter()
    settings = load_settings(profile)
    print(f"profile: {settings.profile}  (feature repo {settings.feature_repo_dir})", flush=True)
    tickers = list(SampleSource().tickers)
    summary = backfill(BACKFILL_START, BACKFILL_END, tickers=tickers, profile=profile, source="sample",
                       apply_definitions=True)
    print(summary.headline())
    session = sessions_between(DAILY_SESSION, DAILY_SESSION)[0]
    as_of = session_close([session])[0] + pd.Timedelta(minutes=30)
    summary = daily_update(profile=profile, source="sample", tickers=tickers, as_of=as_of.to_pydatetime())
    print(summary.headline())
    for row in summary.tickers[:5]:
        print(f"  {row['ticker']:6} fetched {row['bars_fetched']:3} loaded {row['bars_loaded']:3} "
              f"rejected {row['bars_rejected']:3}  {row['status']}")
    print("artifacts: daily-update-tickers, daily-update-validation, daily-update-materialized "
          "(Prefect UI, or the API: POST /api/artifacts/filter)")
    show_results(settings, date(2025, 9, 1), DAILY_SESSION)
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
