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
from stockfeatures.storage.tables import ACTIONS, BARS, features_schema


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

    def quarantine(self, stage: str, rows: pd.DataFrame, reason: str | pd.Series) -> int: ...

    def read_quarantine(self, stage: str | None = None) -> pd.DataFrame: ...

    def tickers(self) -> list[str]: ...

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

    def _read(self, schema, tickers, start, end, as_of) -> pd.DataFrame:
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
