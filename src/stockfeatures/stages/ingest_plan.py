"""Which sessions a run asks the source for: a daily run's re-fetch window, a backfill's
already-loaded tickers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.trading_calendar import calendar, latest_completed_session

NEW_YORK = "America/New_York"
DEFAULT_REFETCH_SESSIONS = 10


def refetch_window(as_of: pd.Timestamp, sessions: int = DEFAULT_REFETCH_SESSIONS) -> tuple[date, date]:
    """First and last session a daily run asks for: the trailing `sessions` completed sessions
    (so late restatements are caught) through the as_of date (whose bar, if still in
    progress, the ingest stage refuses as not yet closed)."""
    if sessions < 1:
        raise ValueError("the re-fetch window needs at least one session")
    last_closed = latest_completed_session(as_of)
    all_sessions = calendar().sessions
    position = all_sessions.get_loc(last_closed)
    first = all_sessions[max(position - sessions + 1, 0)]
    return first.date(), pd.Timestamp(as_of).tz_convert(NEW_YORK).date()


def loaded_tickers(warehouse: Warehouse, tickers: Iterable[str], first: date, last: date) -> set[str]:
    """Tickers with a stored bar on both the first and the last session of [first, last].

    A backfill re-run skips them. Two one-session reads instead of the whole range: cheap
    enough to ask for every chunk.
    """
    tickers = list(tickers)
    sessions = calendar().sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))
    if sessions.empty or not tickers:
        return set()
    ends = [set(warehouse.read_bars(tickers=tickers, start=day, end=day)["ticker"])
            for day in (sessions[0], sessions[-1])]
    return ends[0] & ends[1]
