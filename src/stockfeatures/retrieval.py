"""Thin, typed entry points over Feast reads used by the CLI, demo and examples.

Backtests default to "as known at T": filter_by_created_timestamp=True hides a value (or a
restated version of it) until the instant it was learned, not just until its event time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from feast import FeatureStore

from stockfeatures.features.spec import FEATURE_NAMES, spec_by_name
from stockfeatures.prices.tickers import validate_tickers


class UnknownFeature(KeyError):
    """A requested feature or service is not defined in FeatureSpec / the registry."""


def feature_refs(store: FeatureStore, features: Sequence[str] | None = None, service: str | None = None):
    """Resolve `features` (bare names from FeatureSpec or view:feature refs) or a service name."""
    if service and features:
        raise ValueError("ask for a feature service or a list of features, not both")
    if service:
        try:
            return store.get_feature_service(service)
        except Exception as error:  # Feast raises its own FeatureServiceNotFoundException
            raise UnknownFeature(f"unknown feature service {service!r}") from error
    refs: list[str] = []
    for name in features or FEATURE_NAMES:
        if ":" in name:
            refs.append(name)
            continue
        try:
            refs.append(f"{spec_by_name(name).view}:{name}")
        except KeyError as error:
            raise UnknownFeature(str(error)) from None
    return refs


def in_stable_order(frame: pd.DataFrame, keys: Sequence[str],
                    features: Sequence[str] | None = None) -> pd.DataFrame:
    """`keys` first, then the requested feature names in request order, or (a service, or
    everything) in FeatureSpec order; Feast's own column order varies from run to run."""
    wanted = [name.split(":")[-1] for name in features] if features else list(FEATURE_NAMES)
    rank = {name: position for position, name in enumerate(wanted)}
    rest = [c for c in frame.columns if c not in keys]
    ordered = sorted(rest, key=lambda c: (rank.get(c, len(rank)), c))
    return frame[[k for k in keys if k in frame.columns] + ordered]


def online_features(
    store: FeatureStore,
    tickers: Sequence[str],
    features: Sequence[str] | None = None,
    service: str | None = None,
) -> pd.DataFrame:
    """Latest online values, one row per ticker: ticker, then features in request order (or
    FeatureSpec order for a service)."""
    rows = [{"ticker": ticker} for ticker in validate_tickers(tickers)]
    response = store.get_online_features(features=feature_refs(store, features, service), entity_rows=rows)
    return in_stable_order(response.to_df(), ["ticker"], features)


def historical_features(
    store: FeatureStore,
    entity_df: pd.DataFrame,
    features: Sequence[str] | None = None,
    service: str | None = None,
    as_known_at: bool = True,
) -> pd.DataFrame:
    """Point-in-time values for (ticker, event_timestamp) rows; as known at each row's time."""
    missing = {"ticker", "event_timestamp"} - set(entity_df.columns)
    if missing:
        raise ValueError(f"entity_df needs columns ticker and event_timestamp; missing {sorted(missing)}")
    stamps = pd.to_datetime(entity_df["event_timestamp"])
    if stamps.dt.tz is None:
        raise ValueError("entity_df.event_timestamp must be timezone-aware (UTC recommended)")
    job = store.get_historical_features(
        entity_df=entity_df,
        features=feature_refs(store, features, service),
        filter_by_created_timestamp=as_known_at,
    )
    frame = job.to_df()
    return in_stable_order(frame, [c for c in entity_df.columns if c in frame.columns], features)
