"""The as_of path: values as known at a past instant, through Feast's point-in-time join."""

from __future__ import annotations

import pandas as pd
from feast import FeatureStore

from stockfeatures import metrics
from stockfeatures.retrieval import historical_features
from stockfeatures.serving.errors import BadRequest
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

# The stores keep epoch-based times; nothing is known before this instant.
EARLIEST_AS_OF = pd.Timestamp("1970-01-01", tz="UTC")


def checked_as_of(as_of: object) -> pd.Timestamp:
    """as_of as a UTC Timestamp, or BadRequest naming what is wrong with it.

    pandas parses "0001-01-01T00:00:00Z" (second resolution) and Feast's join then
    overflows; such instants are rejected here with the range the stores cover.
    """
    text = as_of if isinstance(as_of, str) else repr(as_of)
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(f"as_of {text!r} is not an ISO 8601 timestamp, e.g. 2025-06-30T20:00:00Z") from None
    if stamp is pd.NaT:
        raise BadRequest(f"as_of {text!r} is not a timestamp")
    if stamp.tzinfo is None:
        raise BadRequest(f"as_of {text!r} has no timezone; write e.g. 2025-06-30T20:00:00Z")
    stamp = stamp.tz_convert("UTC")
    if stamp < EARLIEST_AS_OF:
        raise BadRequest(f"as_of {text!r} is before 1970-01-01T00:00:00Z, the earliest instant "
                         "the feature stores hold")
    return stamp.as_unit("ns") if stamp.year < 2262 else stamp


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
