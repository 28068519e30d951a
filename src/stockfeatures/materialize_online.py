"""Materialize so the online store ends up holding exactly the warehouse's latest-known values.

Stock Feast falls short in two ways (issue 10, finding 2):
- Its Redis writer skips a row whose event timestamp is not newer than the stored one
  (feast/infra/online_stores/redis.py, online_write_batch), so a restated bar, and every
  ticker's recomputed mom_12_1_rank or beta_60d, keeps its old value online, PRESENT and
  "fresh", after `materialize`.
- Its SQLite writer (the `local` profile) upserts whatever the window holds, so materializing
  an older window rewinds the online store to older sessions.

`materialize_online` runs Feast's own materialization (which keeps Feast's bookkeeping of
materialized intervals), then reads back what the online store holds and rewrites each
ticker whose values or event timestamp differ from the target, through the public
`FeatureStore.write_to_online_store`. The target per ticker and feature view is the latest
known warehouse row with event_timestamp in [start, end], or, if the online store held a
later session before this run, the latest known version of that later session: the online
store never moves back in time, and never keeps a superseded version of a session.

The rewrite goes through a second FeatureStore over the same configuration with Redis'
documented `skip_dedup: true` option, because the rows to write have already been chosen
here (never older than what is online). Only that store skips the check; the profile's
yaml, and with it `feast materialize` run by hand, keep Feast's behaviour.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import weakref
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from stockfeatures.features.spec import features_in_view, view_names
from stockfeatures.progress import Progress

log = logging.getLogger(__name__)

TIMESTAMP_SUFFIX = "__ts"  # feast.online_response.TIMESTAMP_POSTFIX


@dataclass(frozen=True)
class OnlineSync:
    """What materialize_online did: tickers checked and rewritten, per feature view."""

    checked: int
    rewritten: dict[str, int]

    def line(self) -> str:
        parts = ", ".join(f"{view} {count}" for view, count in self.rewritten.items())
        return f"online store: {self.checked} tickers checked, rewritten to match the warehouse: {parts}"


def _utc(stamp: datetime) -> pd.Timestamp:
    if stamp.tzinfo is None:
        raise ValueError(f"materialize window bound {stamp!r} must be timezone-aware")
    return pd.Timestamp(stamp).tz_convert("UTC")


def _latest_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest session per ticker, in its latest known version."""
    ordered = rows.sort_values(["ticker", "event_timestamp", "created_timestamp"], kind="stable")
    return ordered.drop_duplicates("ticker", keep="last").set_index("ticker")


def _number(value) -> float:
    """A Feast ValueProto as a float; NaN when it holds nothing (never written, or null)."""
    kind = value.WhichOneof("val") if value is not None else None
    return math.nan if kind is None or kind == "null_val" else float(getattr(value, kind))


def online_state(store, view: str, tickers: list[str]) -> pd.DataFrame:
    """Per ticker: the view's online values and the event timestamp they carry (NaT if none).

    Through the provider's online_read (what get_online_features calls for each view), not
    get_online_features itself: its response assembly (entity dedup, proto conversions,
    to_dict) cost more than the read for 10,000 tickers, four times per materialize."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    names = [spec.name for spec in features_in_view(view)]
    keys = [EntityKey(join_keys=["ticker"], entity_values=[Value(string_val=t)]) for t in tickers]
    table = store.get_feature_view(view, allow_registry_cache=True)
    # A copy: Feast's Redis store appends its "_ts:<view>" field to the list it is given.
    results = store._get_provider().online_read(store.config, table, keys, list(names))
    values = np.full((len(tickers), len(names)), math.nan)
    seconds = np.zeros(len(tickers), dtype="int64")
    for row, (stamp, stored) in enumerate(results):
        if stamp is None or not stored:
            continue
        # Whole seconds, as get_online_features reports them (Feast keeps seconds for Redis).
        seconds[row] = int(pd.Timestamp(stamp).timestamp())
        values[row] = [_number(stored.get(name)) for name in names]
    frame = pd.DataFrame(values, columns=names, index=pd.Index(tickers, name="ticker"))
    # Integer seconds in, NaT where none is stored (0): pandas 2.x's float path of
    # to_datetime(unit="s") reads uninitialised memory for NaN entries and may raise
    # FloatingPointError (pandas #58419, fixed in 3.0); it failed a test stack once here.
    held = pd.Series(seconds, index=frame.index)
    stamps = pd.to_datetime(held.where(held > 0, 0), unit="s", utc=True)
    frame["event_timestamp"] = stamps.where(held > 0)
    return frame


def _stale(target: pd.DataFrame, online: pd.DataFrame, names: list[str]) -> pd.Index:
    """Tickers whose online values or event timestamp differ from the target row (NaN equals
    NaN). Whole columns at once: a row loop took seconds at 10,000 tickers."""
    here = online.reindex(target.index)
    held_at, want_at = here["event_timestamp"], target["event_timestamp"]
    moved = (held_at.isna() | (held_at != want_at)).to_numpy()
    held = here[names].to_numpy(dtype="float64")
    want = target[names].to_numpy(dtype="float64")
    same = (held == want) | (np.isnan(held) & np.isnan(want))
    return pd.Index(target.index[moved | ~same.all(axis=1)], name="ticker")


def _targets(warehouse, window: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Latest known row per ticker in the window, or the later session already online."""
    target = _latest_rows(window)
    later = before["event_timestamp"].reindex(target.index)
    ahead = later[later.notna() & (later > target["event_timestamp"])]
    for ticker, session_close in ahead.items():
        kept = warehouse.read_features(tickers=[ticker], start=session_close, end=session_close)
        if len(kept):
            target.loc[ticker] = _latest_rows(kept).loc[ticker, target.columns]
    return target


_REWRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def rewriting_store(store):
    """The same store, with Redis' timestamp check off (see the module docstring).

    For callers that have already chosen rows never older than what is online (this
    module's rewrite, and the intraday push's same-bar revisions). Kept per store: opening a
    FeatureStore reads the registry, which a push cannot pay on every call."""
    online = store.config.online_store
    if not hasattr(online, "skip_dedup"):  # SQLite and others overwrite without a check
        return store
    writer = _REWRITERS.get(store)
    if writer is None:
        from feast import FeatureStore
        from feast.repo_config import RepoConfig

        fields = store.config.model_dump(by_alias=True, exclude_none=True)
        fields["online_store"] = {**online.model_dump(exclude_none=True), "skip_dedup": True}
        fields["repo_path"] = store.repo_path
        writer = FeatureStore(repo_path=str(store.repo_path), config=RepoConfig(**fields))
        _REWRITERS[store] = writer
    return writer


def _feast_materialize(store, start: datetime, end: datetime, progress: Progress | None) -> None:
    """Feast's own materialize of the daily views. With `progress`, one view at a time so the count and
    ETA mean something (Feast materializes views one after another either way), and Feast's
    own prints and tqdm bars go to the INFO log instead of between the lines of ours."""
    # The daily views only: the intraday view is fed by push (its batch source holds what was
    # pushed), and materializing it would copy old bars over newer pushed values.
    views = [view.name for view in store.list_feature_views() if view.online and view.name in view_names()]
    if progress is None:
        store.materialize(start_date=start, end_date=end, feature_views=views)
        return
    progress.start("materialize", len(views), "views")
    for view in views:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            store.materialize(start_date=start, end_date=end, feature_views=[view])
        log.info("feast materialize %s:\n%s", view, captured.getvalue())
        progress.advance(1, view)


def materialize_online(store, start: datetime, end: datetime, warehouse=None,
                       progress: Progress | None = None) -> OnlineSync:
    """Feast materialize over [start, end], then make the online store match the warehouse.

    warehouse: the offline store the feature views read; default: the active profile's.
    """
    start_utc, end_utc = _utc(start), _utc(end)
    if warehouse is None:
        from stockfeatures.profiles import open_warehouse

        warehouse = open_warehouse()
    window = warehouse.read_features(start=start_utc, end=end_utc)
    tickers = sorted(window["ticker"].unique().tolist())
    before = {view: online_state(store, view, tickers) for view in view_names()} if tickers else {}
    _feast_materialize(store, start, end, progress)
    rewritten: dict[str, int] = {}
    writer = None
    for view in view_names() if tickers else ():
        names = [spec.name for spec in features_in_view(view)]
        target = _targets(warehouse, window, before[view])
        stale = _stale(target, online_state(store, view, tickers), names)
        rewritten[view] = len(stale)
        if len(stale):
            writer = writer or rewriting_store(store)
            rows = target.loc[stale, ["event_timestamp", "created_timestamp", *names]].reset_index()
            writer.write_to_online_store(view, rows)
    return OnlineSync(checked=len(tickers), rewritten=rewritten)
