"""Turn the read methods' (tickers, start, end, as_of) arguments into one canonical form.

start/end may be tz-aware instants (bounds on event_timestamp, inclusive) or tz-naive dates
(whole session dates, inclusive: every XNYS close falls on its session's UTC date). as_of must
be tz-aware; None means now. Both stores use this, so they filter identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from stockfeatures.storage.errors import StorageError

TimeLike = datetime | date | str | pd.Timestamp | None


class InvalidQuery(StorageError, ValueError):
    """A read argument is malformed (e.g. a naive as_of): say which and how to fix it."""


@dataclass(frozen=True)
class QueryWindow:
    tickers: tuple[str, ...] | None
    lower: pd.Timestamp | None  # inclusive
    upper: pd.Timestamp | None  # exclusive
    as_of: pd.Timestamp


def _bound(value: TimeLike, *, upper: bool) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        if stamp != stamp.normalize():
            raise InvalidQuery(
                f"start/end {value!r} is a naive instant; pass a tz-aware timestamp or a plain date"
            )
        day = stamp.tz_localize("UTC")
        return day + pd.Timedelta(days=1) if upper else day
    stamp = stamp.tz_convert("UTC")
    return stamp + pd.Timedelta(microseconds=1) if upper else stamp


def query_window(
    tickers: Iterable[str] | str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    as_of: datetime | pd.Timestamp | None = None,
) -> QueryWindow:
    if isinstance(tickers, str):
        tickers = [tickers]
    chosen = None if tickers is None else tuple(dict.fromkeys(t.upper() for t in tickers))
    if as_of is None:
        known_at = pd.Timestamp.now(tz="UTC")
    else:
        known_at = pd.Timestamp(as_of)
        if known_at.tzinfo is None:
            raise InvalidQuery(f"as_of {as_of!r} has no timezone; pass a tz-aware UTC timestamp")
        known_at = known_at.tz_convert("UTC")
    return QueryWindow(chosen, _bound(start, upper=False), _bound(end, upper=True), known_at)
