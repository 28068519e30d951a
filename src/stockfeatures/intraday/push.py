"""Intraday feature rows into the online and offline stores through Feast's push API.

`push_intraday_features` is the one write path of the intraday view: the push flow
(pipelines/intraday_push.py) and POST /push on the feature server both call it.

- Rows are checked against features_intraday first (InvalidFrame names every problem;
  nothing is written from a bad batch).
- Only rows the offline store does not know yet are pushed (warehouse.unknown_intraday_features,
  the versions.py rules): re-pushing the same bars, even with a later created_timestamp,
  adds no version offline and rewrites nothing online.
- Online keeps the newest bar per ticker: Redis itself skips a row older than what it holds
  (feast redis online_write_batch); for stores that keep the last write (SQLite in `local`)
  rows older than the ticker's online bar are left out of the online half, and the rest go
  in event order.
- Offline half: where the PushSource's batch source is a PostgreSQL table (prod, cluster),
  `store.push(..., to=PushMode.ONLINE_AND_OFFLINE)` and Feast calls the project's
  offline_write_batch (stockfeatures.offline.offline_write). Where it is a parquet file
  (local), the rows are written by the parquet warehouse and Feast pushes online only:
  Feast's DuckDB/file offline_write_batch (feast/infra/offline_stores/duckdb.py,
  _write_data_source) reads the whole file back, fails when the file does not exist yet,
  and rewrites it in place without the warehouse's lock, so a push racing another writer
  (the flow and POST /push) could lose rows or leave a half-written file. The warehouse's
  replace-on-complete write under its lock has neither problem.

Not atomic across the two stores (neither is Feast's push): Feast writes online first. If the
offline half fails, the rows stay unknown offline and a retry pushes them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from feast.data_source import PushMode

from stockfeatures import metrics
from stockfeatures.intraday.spec import INTRADAY_PUSH_SOURCE, INTRADAY_VIEW
from stockfeatures.storage.tables import CREATED, EVENT, intraday_features_schema
from stockfeatures.storage.validation import validated

_MODES = {"online": PushMode.ONLINE, "offline": PushMode.OFFLINE,
          "online_and_offline": PushMode.ONLINE_AND_OFFLINE}
VIA_FEAST = "feast offline_write_batch"
VIA_WAREHOUSE = "warehouse (parquet)"


class UnknownPushMode(ValueError):
    """`to` is not one of Feast's push modes."""


@dataclass(frozen=True)
class PushResult:
    """received: input rows; pushed: new versions written; unchanged: rows already known."""

    received: int
    pushed: int
    unchanged: int
    to: str
    offline_via: str | None

    def line(self) -> str:
        via = f", offline via {self.offline_via}" if self.offline_via else ""
        return (f"push {INTRADAY_PUSH_SOURCE} ({self.to}): {self.received} rows, {self.pushed} new, "
                f"{self.unchanged} already known{via}")

    def to_dict(self) -> dict:
        return {"push_source_name": INTRADAY_PUSH_SOURCE, "to": self.to, "received": self.received,
                "pushed": self.pushed, "unchanged": self.unchanged, "offline_via": self.offline_via}


def push_mode(to: str | PushMode) -> PushMode:
    if isinstance(to, PushMode):
        return to
    mode = _MODES.get(str(to).strip().lower())
    if mode is None:
        raise UnknownPushMode(f"'to' must be one of {', '.join(_MODES)}, got {to!r}")
    return mode


_WRITES_OFFLINE: dict[int, bool] = {}


def feast_writes_offline(store) -> bool:
    """Whether Feast's offline_write_batch takes the offline half (a PostgreSQL batch source).

    Remembered per store (a registry lookup costs ~5 ms a push): the source's kind follows
    the profile, which a FeatureStore never changes."""
    known = _WRITES_OFFLINE.get(id(store))
    if known is None:
        from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
            PostgreSQLSource,
        )

        source = store.get_data_source(INTRADAY_PUSH_SOURCE)
        known = _WRITES_OFFLINE[id(store)] = isinstance(getattr(source, "batch_source", None),
                                                        PostgreSQLSource)
    return known


def _online_dedups(store) -> bool:
    """Redis compares event timestamps before it writes; SQLite and others overwrite."""
    return hasattr(store.config.online_store, "skip_dedup")


def _not_behind_online(store, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows not older than their ticker's bar in the online store (for stores that overwrite)."""
    from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_VIEW

    if rows.empty or _online_dedups(store):
        return rows
    tickers = sorted(rows["ticker"].unique())
    first = INTRADAY_FEATURE_NAMES[0]
    held = store.get_online_features(features=[f"{INTRADAY_VIEW}:{first}"],
                                     entity_rows=[{"ticker": t} for t in tickers]
                                     ).to_dict(include_event_timestamps=True)
    seconds = pd.Series(held[f"{first}__ts"], index=tickers, dtype="float64")
    online_at = pd.to_datetime(seconds.where(seconds > 0), unit="s", utc=True)
    behind = rows[EVENT] < rows["ticker"].map(online_at)
    return rows[~behind.fillna(False).astype(bool)]


def _push(store, rows: pd.DataFrame, mode: PushMode) -> None:
    if len(rows):
        store.push(INTRADAY_PUSH_SOURCE, rows, to=mode)
        if mode != PushMode.OFFLINE:  # the intraday lag metric follows what is online
            metrics.record_intraday_push(INTRADAY_VIEW, rows[EVENT].max().timestamp())


def _for_feast(rows: pd.DataFrame) -> pd.DataFrame:
    columns = list(intraday_features_schema().columns)
    return rows[columns].sort_values([EVENT, "ticker", CREATED], kind="stable").reset_index(drop=True)


def push_intraday_features(store, warehouse, features: pd.DataFrame,
                           to: str | PushMode = PushMode.ONLINE_AND_OFFLINE) -> PushResult:
    """Push intraday feature rows (columns of features_intraday) to the intraday view."""
    mode = push_mode(to)
    name = mode.name.lower()
    if mode == PushMode.ONLINE:
        # Online only: nothing is recorded, so there is nothing to deduplicate against.
        rows = validated(features, intraday_features_schema())
        _push(store, _not_behind_online(store, _for_feast(rows)), PushMode.ONLINE)
        return PushResult(len(features), len(rows), len(features) - len(rows), name, None)
    # unknown_intraday_features validates the rows itself (InvalidFrame, nothing written).
    fresh = _for_feast(warehouse.unknown_intraday_features(features))
    online_rows = _not_behind_online(store, fresh) if mode == PushMode.ONLINE_AND_OFFLINE else fresh
    if feast_writes_offline(store):
        via = VIA_FEAST
        if mode == PushMode.ONLINE_AND_OFFLINE and len(online_rows) < len(fresh):
            _push(store, online_rows, PushMode.ONLINE)
            _push(store, fresh, PushMode.OFFLINE)
        else:
            _push(store, fresh, mode)
    else:
        via = VIA_WAREHOUSE
        if mode == PushMode.ONLINE_AND_OFFLINE:
            _push(store, online_rows, PushMode.ONLINE)
        if len(fresh):
            warehouse.write_intraday_features(fresh)
    return PushResult(len(features), len(fresh), len(features) - len(fresh), name, via)
