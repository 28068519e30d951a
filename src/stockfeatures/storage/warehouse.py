"""The offline store's contract, shared by the PostgreSQL (prod) and parquet (local) stores.

Pipelines and serving depend on this Protocol only; a profile decides which implementation
they get, so no flow branches on `local` vs `prod`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import pandas as pd

from stockfeatures.storage.query_window import TimeLike
from stockfeatures.storage.tables import (
    ACTIONS,
    BARS,
    INTRADAY_BARS,
    features_schema,
    intraday_features_schema,
)


@dataclass(frozen=True)
class WriteResult:
    """inserted: new versions stored; unchanged: input rows already known (nothing to add)."""

    inserted: int
    unchanged: int


@runtime_checkable
class Warehouse(Protocol):
    """Append-only, bitemporal storage of bars, corporate actions, features and rejects.

    Writes never update or delete: a changed value becomes a new version with its
    created_timestamp; an unchanged one is skipped. Reads return the latest version of each
    fact among those known at `as_of` (None = now). A batch is written whole or not at all.
    """

    def migrate(self) -> object: ...

    def write_bars(self, bars: pd.DataFrame) -> WriteResult: ...

    def write_actions(self, actions: pd.DataFrame) -> WriteResult: ...

    def write_features(self, features: pd.DataFrame) -> WriteResult: ...

    def read_bars(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame: ...

    def read_actions(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame: ...

    def read_features(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame: ...

    def latest_features(self, tickers: Iterable[str] | None = None) -> pd.DataFrame: ...

    # The intraday tier (5-minute bars stamped at their end; stockfeatures.intraday).
    def write_intraday_bars(self, bars: pd.DataFrame) -> WriteResult: ...

    def write_intraday_features(self, features: pd.DataFrame) -> WriteResult: ...

    def read_intraday_bars(self, tickers: Iterable[str] | None = None, start: TimeLike = None,
                           end: TimeLike = None, as_of: datetime | pd.Timestamp | None = None,
                           ) -> pd.DataFrame: ...

    def read_intraday_features(self, tickers: Iterable[str] | None = None, start: TimeLike = None,
                               end: TimeLike = None, as_of: datetime | pd.Timestamp | None = None,
                               ) -> pd.DataFrame: ...

    def unknown_intraday_features(self, features: pd.DataFrame) -> pd.DataFrame: ...

    def delete_intraday_bars_before(self, cutoff: datetime | pd.Timestamp) -> int: ...

    def quarantine(self, stage: str, rows: pd.DataFrame, reason: str | pd.Series) -> int: ...

    def read_quarantine(self, stage: str | None = None) -> pd.DataFrame: ...

    def tickers(self) -> list[str]: ...

    def session_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(first, last) session of the stored daily bars, tz-naive dates; None when empty."""
        ...

    def refresh_statistics(self) -> None:
        """Bring the features table's planner statistics up to date after a bulk write."""
        ...

    def close(self) -> None: ...


class VersionedTables:
    """The per-table writes and "as known at" reads, for implementations that provide
    `_append(frame, schema)` and `_read(schema, ...)`.

    Both stores treat every table the same way (append new versions only; read the latest
    version known at as_of); only those two primitives differ, so the public methods live
    once, here.
    """

    def _append(self, frame: pd.DataFrame, schema) -> WriteResult:
        raise NotImplementedError

    def refresh_statistics(self) -> None:
        """Nothing to do where no query planner reads statistics (Parquet files)."""

    def _read(self, schema, tickers, start, end, as_of) -> pd.DataFrame:
        raise NotImplementedError

    def _unknown(self, frame: pd.DataFrame, schema) -> pd.DataFrame:
        """The validated rows of `frame` that _append would store (nothing is written)."""
        raise NotImplementedError

    def _delete_before(self, schema, cutoff: pd.Timestamp) -> int:
        raise NotImplementedError

    def write_bars(self, bars: pd.DataFrame) -> WriteResult:
        return self._append(bars, BARS)

    def write_actions(self, actions: pd.DataFrame) -> WriteResult:
        return self._append(actions, ACTIONS)

    def write_features(self, features: pd.DataFrame) -> WriteResult:
        return self._append(features, features_schema())

    def read_bars(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self._read(BARS, tickers, start, end, as_of)

    def read_actions(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self._read(ACTIONS, tickers, start, end, as_of)

    def read_features(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self._read(features_schema(), tickers, start, end, as_of)

    # -- intraday tier ------------------------------------------------------------------------

    def write_intraday_bars(self, bars: pd.DataFrame) -> WriteResult:
        return self._append(bars, INTRADAY_BARS)

    def write_intraday_features(self, features: pd.DataFrame) -> WriteResult:
        return self._append(features, intraday_features_schema())

    def read_intraday_bars(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self._read(INTRADAY_BARS, tickers, start, end, as_of)

    def read_intraday_features(
        self,
        tickers: Iterable[str] | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
        as_of: datetime | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        return self._read(intraday_features_schema(), tickers, start, end, as_of)

    def unknown_intraday_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """The rows write_intraday_features would store: what a push must still write, so a
        re-push of the same bars adds no version (the versions.py rules), whoever writes."""
        return self._unknown(features, intraday_features_schema())

    def delete_intraday_bars_before(self, cutoff: datetime | pd.Timestamp) -> int:
        """Retention, the one delete in this store: raw 5-minute bars whose bar ended before
        `cutoff` (UTC-aware). Returns how many rows (versions) were deleted."""
        stamp = pd.Timestamp(cutoff)
        if stamp.tzinfo is None:
            raise ValueError(f"retention cutoff {cutoff!r} must be timezone-aware")
        return self._delete_before(INTRADAY_BARS, stamp.tz_convert("UTC"))
