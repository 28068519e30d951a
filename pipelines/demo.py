"""The demo, in one place: sample history through the flows, then what the stores answer.

`make demo` (`stockfeatures demo`, `python -m pipelines demo`) runs a backfill of sample
history and one daily update in Prefect's ephemeral mode, then prints online features for a
few tickers and a small point-in-time frame, then replays the same session's 5-minute bars
through the intraday push path and prints their features as they evolve (demo_intraday.py). Sample prices stand in for Yahoo (no network
needed); everything else is what production runs: gates, quarantine, versioned writes,
Feast apply and materialization, run artifacts.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd

from pipelines.backfill import backfill
from pipelines.daily_update import daily_update
from pipelines.demo_intraday import replay_session
from stockfeatures.config import Settings, load_settings
from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.prices.sample import SampleSource
from stockfeatures.profiles import open_feature_store
from stockfeatures.retrieval import historical_features, online_features
from stockfeatures.trading_calendar import session_close, sessions_between

BACKFILL_START = date(2021, 1, 4)
BACKFILL_END = date(2025, 12, 30)
DAILY_SESSION = date(2025, 12, 31)

SHOWN_TICKERS = ("AAPL", "MSFT", "SPY")
HISTORY_FEATURES = ["ret_20d", "mom_12_1", "vol_20d", "beta_60d", "mom_12_1_rank"]


def _four_decimals(value: float) -> str:
    return f"{value:.4f}"


def month_end_closes(start: date, end: date) -> pd.DatetimeIndex:
    """Close instants of the last session of each month in [start, end]."""
    sessions = pd.Series(sessions_between(start, end))
    month_ends = sessions.groupby(sessions.dt.to_period("M")).max()
    return session_close(month_ends.to_numpy())


def show_results(settings: Settings, history_start: date, history_end: date) -> None:
    """Print online features for a few tickers and a small point-in-time backtest frame."""
    store = open_feature_store(settings)
    online = online_features(store, SHOWN_TICKERS, service=MOMENTUM_SERVICE)
    print(f"\nonline features, service {MOMENTUM_SERVICE}:")
    print(online.to_string(index=False, float_format=_four_decimals))

    closes = month_end_closes(history_start, history_end)
    entity_df = pd.DataFrame(
        [(ticker, close) for close in closes for ticker in SHOWN_TICKERS],
        columns=["ticker", "event_timestamp"],
    )
    history = historical_features(store, entity_df, features=HISTORY_FEATURES)
    print("\npoint-in-time features at month-end closes (as known at each close):")
    print("(a bar's first load is known at its session close, so a query at a close sees that "
          "session; a later restatement would be known only from when it was learned: "
          "docs/data-integrity.md)")
    print(history.sort_values(["event_timestamp", "ticker"]).to_string(
        index=False, float_format=_four_decimals))


def run_demo_flows(profile: str | None = None) -> None:
    """Backfill sample history, run one daily update, then show what the stores answer."""
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
          "(`.venv/bin/prefect artifact ls`, or the Prefect UI)")
    show_results(settings, date(2025, 9, 1), DAILY_SESSION)
    replay_session(settings, DAILY_SESSION, SHOWN_TICKERS)
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
