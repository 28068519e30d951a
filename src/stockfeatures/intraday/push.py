"""Intraday feature rows into the online and offline stores through Feast's push API.

`push_intraday_features` is the one write path of the intraday view: the push flow
(pipelines/intraday_push.py) and POST /push on the feature server both call it.

- Rows are checked against features_intraday first (InvalidFrame names every problem;
  nothing is written from a bad batch).
- Only rows the offline store does not know yet are pushed (warehouse.unknown_intraday_features,
  the versions.py rules): re-pushing the same bars, even with a later created_timestamp,
  adds no version offline and rewrites nothing online.
- Online keeps the newest bar per ticker: rows older than the ticker's online bar are left
  out of the online half and the rest go in event order; a new version of the bar online
  (a corrected bar, same event timestamp) replaces it, in Redis too (_online_rows).
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

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from feast.data_source import PushMode

from stockfeatures import metrics
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_PUSH_SOURCE, INTRADAY_VIEW
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


@dataclass(frozen=True)
class _StoreFacts:
    """What a push asks the registry about a store, once: the intraday view (its online
    read) and whether Feast's offline_write_batch takes the offline half (a PostgreSQL batch
    source). A FeatureStore never changes its profile, and each lookup costs ~5 ms a push."""

    view: object
    writes_offline: bool


_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _facts(store) -> _StoreFacts:
    facts = _FACTS.get(store)
    if facts is None:
        from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
            PostgreSQLSource,
        )

        source = store.get_data_source(INTRADAY_PUSH_SOURCE)
        facts = _FACTS[store] = _StoreFacts(
            view=store.get_feature_view(INTRADAY_VIEW),
            writes_offline=isinstance(getattr(source, "batch_source", None), PostgreSQLSource))
    return facts


def _online_dedups(store) -> bool:
    """Redis compares event timestamps before it writes; SQLite and others overwrite."""
    return hasattr(store.config.online_store, "skip_dedup")


_NOTHING_ONLINE = np.iinfo(np.int64).min


def _online_bar_ends(store, tickers: list[str]) -> dict[str, int]:
    """Each ticker's bar end in the online store, in UTC nanoseconds (absent: none held).

    The provider's online_read (as serving.online_reader.FeastReader reads), not
    get_online_features: that costs several ms a call in registry lookups and response
    assembly, which every push would pay."""
    from stockfeatures.serving.online_reader import entity_key

    results = store._get_provider().online_read(
        store.config, _facts(store).view, [entity_key(t) for t in tickers], [INTRADAY_FEATURE_NAMES[0]])
    return {ticker: pd.Timestamp(stamp).value
            for ticker, (stamp, values) in zip(tickers, results, strict=True)
            if stamp is not None and values}


@dataclass(frozen=True)
class OnlineRows:
    """What the online half writes: `rows` through Feast's push, `revisions` (new versions of
    the bar a ticker holds online, e.g. a corrected close) past Redis' timestamp check."""

    rows: pd.DataFrame
    revisions: pd.DataFrame


def _online_rows(store, rows: pd.DataFrame) -> OnlineRows:
    """Rows (in _for_feast order) split for the online half; none older than the online bar.

    Online holds each ticker's newest bar. A row older than it is left out (stores that keep
    the last write would rewind; Redis would skip it anyway). A new version of the very bar
    online has the same event timestamp, which Redis' writer skips (feast redis
    online_write_batch keeps only newer timestamps): the batch's newest version of it, when
    no newer bar of that ticker is in the batch, is rewritten through the store with Redis'
    documented skip_dedup (materialize_online.rewriting_store), as daily restatements are.
    """
    if rows.empty:
        return OnlineRows(rows, rows)
    # numpy on the key columns: a push is often one row, where pandas' per-call cost dominates.
    tickers = rows["ticker"].to_numpy(dtype=object)
    events = rows[EVENT].astype("datetime64[ns, UTC]").array.asi8
    held = _per_row(_online_bar_ends(store, sorted(set(tickers))), tickers)
    ahead = events >= held
    if not _online_dedups(store):
        kept = rows[ahead]
        return OnlineRows(kept, kept.iloc[0:0])
    newest: dict[str, int] = {}
    for ticker, event in zip(tickers[ahead], events[ahead], strict=True):
        newest[ticker] = max(newest.get(ticker, event), event)
    # The bar online is the newest bar of its ticker in the batch: those rows are revisions.
    revising = ahead & (_per_row(newest, tickers) == held)
    revisions = rows[revising].groupby("ticker").tail(1) if revising.any() else rows.iloc[0:0]
    return OnlineRows(rows[ahead & ~revising], revisions)


def _per_row(by_ticker: dict[str, int], tickers: np.ndarray) -> np.ndarray:
    return np.fromiter((by_ticker.get(t, _NOTHING_ONLINE) for t in tickers), dtype=np.int64,
                       count=len(tickers))


def _push(store, rows: pd.DataFrame, mode: PushMode) -> None:
    if len(rows):
        store.push(INTRADAY_PUSH_SOURCE, rows, to=mode)
        if mode != PushMode.OFFLINE:  # the intraday lag metric follows what is online
            metrics.record_intraday_push(INTRADAY_VIEW, rows[EVENT].max().timestamp())


def _revise(store, revisions: pd.DataFrame) -> None:
    if len(revisions):
        from stockfeatures.materialize_online import rewriting_store

        rewriting_store(store).write_to_online_store(INTRADAY_VIEW, revisions.reset_index(drop=True))


def _for_feast(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows[list(intraday_features_schema().columns)]
    if len(rows) > 1:
        rows = rows.sort_values([EVENT, "ticker", CREATED], kind="stable")
    return rows.reset_index(drop=True)


def push_intraday_features(store, warehouse, features: pd.DataFrame,
                           to: str | PushMode = PushMode.ONLINE_AND_OFFLINE) -> PushResult:
    """Push intraday feature rows (columns of features_intraday) to the intraday view."""
    mode = push_mode(to)
    name = mode.name.lower()
    if mode == PushMode.ONLINE:
        # Online only: nothing is recorded, so there is nothing to deduplicate against.
        rows = validated(features, intraday_features_schema())
        online = _online_rows(store, _for_feast(rows))
        _push(store, online.rows, PushMode.ONLINE)
        _revise(store, online.revisions)
        return PushResult(len(features), len(rows), len(features) - len(rows), name, None)
    # unknown_intraday_features validates the rows itself (InvalidFrame, nothing written).
    fresh = _for_feast(warehouse.unknown_intraday_features(features))
    both = mode == PushMode.ONLINE_AND_OFFLINE
    online = _online_rows(store, fresh) if both else OnlineRows(fresh.iloc[0:0], fresh.iloc[0:0])
    if _facts(store).writes_offline:
        via = VIA_FEAST
        if both and len(online.rows) == len(fresh):
            _push(store, fresh, mode)
        else:
            _push(store, online.rows, PushMode.ONLINE)
            _push(store, fresh, PushMode.OFFLINE)
    else:
        via = VIA_WAREHOUSE
        _push(store, online.rows, PushMode.ONLINE)
        if len(fresh):
            warehouse.write_intraday_features(fresh)
    _revise(store, online.revisions)
    return PushResult(len(features), len(fresh), len(features) - len(fresh), name, via)
