"""The as_of path: values as known at a past instant, through Feast's point-in-time join."""

from __future__ import annotations

import pandas as pd
from feast import FeatureStore

from stockfeatures import metrics
from stockfeatures.retrieval import historical_features
from stockfeatures.serving.plan import ReadPlan
from stockfeatures.serving.response import (
    HISTORICAL,
    OFFLINE,
    UNKNOWN,
    FeatureResponse,
    FeatureValue,
    TickerFeatures,
)
from stockfeatures.storage.warehouse import Warehouse


def historical_response(store: FeatureStore, warehouse: Warehouse, plan: ReadPlan, tickers: list[str],
                        as_of: pd.Timestamp) -> FeatureResponse:
    """Values as known at `as_of` through Feast's point-in-time join (the backtest path).

    Feast does not return each value's event time, so it is taken from the warehouse's
    latest row known at as_of: the row the point-in-time join selects.
    """
    metrics.UPSTREAM_CALLS.labels("warehouse").inc()
    entity_df = pd.DataFrame({"ticker": tickers, "event_timestamp": as_of})
    if plan.service:
        frame = historical_features(store, entity_df, service=plan.service)
    else:
        frame = historical_features(store, entity_df, features=list(plan.refs or ()))
    frame = frame.drop_duplicates("ticker", keep="last").set_index("ticker")
    rows = warehouse.latest_features(tickers, as_of=as_of)
    stamps = rows.drop_duplicates("ticker", keep="last").set_index("ticker")["event_timestamp"]
    result = []
    for ticker in tickers:
        stamp = stamps.get(ticker)
        event_s = None if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp).timestamp()
        values = {}
        for _, feature in plan.columns:
            value = frame.at[ticker, feature] if ticker in frame.index else None
            value = None if value is None or pd.isna(value) else float(value)
            values[feature] = FeatureValue(value, event_s if value is not None else None,
                                           OFFLINE if value is not None else None)
        known = any(v.value is not None for v in values.values())
        metrics.REQUESTS.labels(OFFLINE if known else "none", HISTORICAL).inc()
        result.append(TickerFeatures(ticker, HISTORICAL if known else UNKNOWN, values))
    return FeatureResponse(plan.feature_names, result)
