"""What the demo shows once the flows have filled the stores: online and point-in-time reads.

The flows themselves (backfill, daily update) live in pipelines/; `stockfeatures demo`
runs them through pipelines.demo and then calls show_results.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from stockfeatures.config import Settings
from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.profiles import open_feature_store
from stockfeatures.retrieval import historical_features, online_features
from stockfeatures.trading_calendar import session_close, sessions_between

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
    print("(the daily update loads a session's bar after its close, so a query at that close "
          "still sees the previous session's values: knowledge time, not event time)")
    print(history.sort_values(["event_timestamp", "ticker"]).to_string(
        index=False, float_format=_four_decimals))
