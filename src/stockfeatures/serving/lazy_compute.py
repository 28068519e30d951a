"""The miss path: find the newest feature row for tickers and put it in the online store.

Order of preference: the warehouse's latest row (what the batch pipeline computed); if it is
missing or older than the latest session, recompute from stored prices (the pipeline may
not have run yet, or the ticker was ingested but never computed). Rows are written to the
online store through Feast (write_to_online_store), so the next read is a plain hit.

Recomputed rows are not written to features_daily: the batch job owns that table, and its
cross-sectional columns are computed over the whole universe. Here mom_12_1_rank is ranked
against the peers the warehouse holds for the same session (NaN if there are none).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from feast import FeatureStore

from stockfeatures import metrics
from stockfeatures.features import compute_features
from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.serving.response import COMPUTED, OFFLINE
from stockfeatures.stages.compute import history_start
from stockfeatures.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

RANK_FEATURE, RANKED_FEATURE = "mom_12_1_rank", "mom_12_1"
_KEYS = ["ticker", "event_timestamp", "created_timestamp"]


@dataclass
class FoundRows:
    """rows: one row per ticker that has any data (indexed by ticker); origin: offline|computed."""

    rows: pd.DataFrame
    origin: dict[str, str]


def rank_among_peers(values: pd.Series, peers: pd.Series) -> pd.Series:
    """Percentile rank of each value among peers plus itself, in (0, 1], ties averaged.

    Each value is ranked as if it were the only newcomer, the way the batch job would have
    ranked it among the universe on that session.
    """
    peer_values = peers.dropna().to_numpy()
    ranks = {}
    for ticker, value in values.items():
        if pd.isna(value):
            ranks[ticker] = float("nan")
            continue
        below = (peer_values < value).sum()
        ties = (peer_values == value).sum()
        count = len(peer_values) + 1
        ranks[ticker] = (below + 1 + ties / 2) / count
    return pd.Series(ranks, dtype="float64")


class LazyCompute:
    def __init__(self, store: FeatureStore, warehouse: Warehouse, benchmark: str):
        self.store = store
        self.warehouse = warehouse
        self.benchmark = benchmark

    def find(self, tickers: Sequence[str], expected_close: pd.Timestamp) -> FoundRows:
        metrics.UPSTREAM_CALLS.labels("warehouse").inc()
        rows = self.warehouse.latest_features(list(tickers))
        rows = rows.drop_duplicates("ticker", keep="last").set_index("ticker", drop=False)
        origin = {t: OFFLINE for t in rows.index}
        behind = [t for t in tickers
                  if t not in rows.index or rows.at[t, "event_timestamp"] < expected_close]
        if behind:
            behind = self._with_newer_bars(behind, rows)
        if behind:
            metrics.UPSTREAM_CALLS.labels("prices").inc()
            computed = self.compute_from_prices(behind, expected_close)
            for ticker in computed.index:
                if ticker not in rows.index or (
                    computed.at[ticker, "event_timestamp"] > rows.at[ticker, "event_timestamp"]
                ):
                    rows = pd.concat([rows.drop(index=ticker, errors="ignore"), computed.loc[[ticker]]])
                    origin[ticker] = COMPUTED
        for kind in origin.values():
            metrics.COMPUTATIONS.labels("prices" if kind == COMPUTED else "warehouse_row").inc()
        return FoundRows(rows, origin)

    def _with_newer_bars(self, tickers: list[str], rows: pd.DataFrame) -> list[str]:
        """The tickers behind the session that a recompute from prices could move forward:
        those with no warehouse row, and those with a bar stored after their row.

        For the others a recompute ends at the session of the row the warehouse holds, and
        find keeps a computed row only if it is strictly newer. Skipping it changes no
        answer and saves reading a year of bars and computing every feature: after the close,
        before the day's bars are in, every ticker is behind, and each re-check of a settled
        miss (serving.recheck) recomputed its whole request.
        """
        known = {t: rows.at[t, "event_timestamp"] for t in tickers if t in rows.index}
        if not known:
            return tickers
        first = min(known.values()).tz_convert("America/New_York").date()
        bars = self.warehouse.read_bars(tickers=list(known), start=first)
        newest = bars.groupby("ticker")["event_timestamp"].max() if not bars.empty else pd.Series()
        return [t for t in tickers if t not in known or newest.get(t, known[t]) > known[t]]

    def compute_from_prices(self, tickers: Sequence[str], expected_close: pd.Timestamp) -> pd.DataFrame:
        """Latest feature row per ticker from stored bars (empty when no bars are stored)."""
        session = expected_close.tz_convert("America/New_York").date()
        wanted = list(dict.fromkeys([*tickers, self.benchmark]))
        bars = self.warehouse.read_bars(tickers=wanted, start=history_start(session).date())
        if bars.empty or not bars["ticker"].isin(tickers).any():
            return pd.DataFrame(columns=_KEYS).set_index("ticker", drop=False)
        adjusted = adjust_bars(latest_versions(bars), self.warehouse.read_actions(tickers=wanted))
        features = compute_features(adjusted, benchmark=self.benchmark)
        latest = features[features["ticker"].isin(tickers)].groupby("ticker").tail(1)
        latest = latest.set_index("ticker", drop=False)
        for stamp, group in latest.groupby("event_timestamp"):
            peers = self.warehouse.read_features(start=stamp, end=stamp)
            peers = peers[~peers["ticker"].isin(group.index)].drop_duplicates("ticker", keep="last")
            latest.loc[group.index, RANK_FEATURE] = rank_among_peers(
                group[RANKED_FEATURE], peers[RANKED_FEATURE]
            ).reindex(group.index).to_numpy()
        return latest

    def write_online(self, rows: pd.DataFrame, views: dict[str, set[str]]) -> None:
        """Write every online view's columns of `rows` through Feast (next read is a hit).

        Feast's Redis store skips a row whose event time is <= the stored one, so a value
        already there is never overwritten by an older one.
        """
        if rows.empty:
            return
        frame = rows.reset_index(drop=True)
        for view, features in views.items():
            columns = [c for c in frame.columns if c in features]
            if not columns or frame[columns].isna().all().all():
                continue
            self.store.write_to_online_store(view, frame[_KEYS + columns])
