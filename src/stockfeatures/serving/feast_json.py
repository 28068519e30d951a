"""The `feast serve` wire format for POST /get-online-features, in and out.

Request: {"entities": {"ticker": [...]}, "features": [...] | "feature_service": "...",
"full_feature_names": false}. Response: column-major "results" (the entity column first),
"metadata.feature_names". Statuses carry freshness, which stock Feast reports as PRESENT
even for stale values (feast-dev/feast#6821): PRESENT (fresh), OUTSIDE_MAX_AGE (older than
the latest session), NULL_VALUE (fresh but undefined, e.g. in its warm-up window),
NOT_FOUND (ticker unknown). Extension: "include_sources": true adds a "sources" list
(online | offline | computed) to each feature column; stock clients ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass

from stockfeatures.serving.errors import BadRequest
from stockfeatures.serving.plan import ReadPlan
from stockfeatures.serving.response import (
    FRESH,
    HISTORICAL,
    STALE,
    UNKNOWN,
    FeatureResponse,
    json_float,
    rfc3339,
)

EPOCH = "1970-01-01T00:00:00Z"
_INF = float("inf")
ENTITY = "ticker"


@dataclass(frozen=True)
class OnlineRequest:
    tickers: list
    features: list[str] | None
    service: str | None
    full_feature_names: bool
    include_sources: bool
    body: dict


def parse_request(body: object) -> OnlineRequest:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object with 'entities' and 'features' or 'feature_service'")
    entities = body.get("entities")
    if not isinstance(entities, dict) or not entities:
        raise BadRequest('\'entities\' must be an object like {"ticker": ["AAPL", "MSFT"]}')
    # Other keys are request data for on-demand views (e.g. target_annual_vol), as in Feast.
    tickers = entities.get(ENTITY)
    if tickers is None:
        raise BadRequest(f"'entities' must contain {ENTITY!r}: the only entity of this feature store")
    if not isinstance(tickers, list):
        raise BadRequest(f"'entities.{ENTITY}' must be a list of ticker strings")
    features = body.get("features")
    service = body.get("feature_service")
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise BadRequest("'features' must be a list of feature references (strings)")
    if service is not None and not isinstance(service, str):
        raise BadRequest("'feature_service' must be a string")
    features, service = features or None, service or None
    if features and service:
        raise BadRequest("give 'features' or 'feature_service', not both")
    if not features and not service:
        raise BadRequest("give 'features' (a list of feature references) or 'feature_service'")
    return OnlineRequest(
        tickers, features, service,
        _flag(body, "full_feature_names"), _flag(body, "include_sources"),
        body,
    )


def _flag(body: dict, name: str) -> bool:
    """A JSON boolean; "no" or 0 would otherwise read as true (or false) by accident."""
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false, got {value!r}")
    return value


def _status(ticker_status: str, value: float | None) -> str:
    if ticker_status == UNKNOWN:
        return "NOT_FOUND"
    if ticker_status == STALE:
        return "OUTSIDE_MAX_AGE"
    if value is None:
        return "NULL_VALUE"
    return "PRESENT" if ticker_status in (FRESH, HISTORICAL) else "INVALID"


def render(response: FeatureResponse, plan: ReadPlan, request: OnlineRequest,
           order: list[str]) -> dict:
    """order: the request's tickers (normalized, repeats kept, as Feast keeps entity rows)."""
    by_ticker = {item.ticker: item for item in response.tickers}
    rows = [by_ticker[t] for t in order]
    tickers = list(order)
    results = [{
        "values": tickers,
        "statuses": ["PRESENT"] * len(tickers),
        "event_timestamps": [EPOCH] * len(tickers),
    }]
    if len(rows) == 1:  # the trading loop's usual request: per-cell rules, no column passes
        results.extend(_single_row(rows[0], plan.feature_names, request.include_sources))
        return {"results": results, "metadata": {"feature_names": _names(plan, request)}}
    # A 500-ticker answer has 7,000 cells: per-cell function calls were most of its time.
    # When every ticker is fresh (the common case) a cell's status depends on its value
    # alone; finite floats and None pass through json_float unchanged; each distinct event
    # time is spelled once per answer. Same output as _status / json_float / rfc3339.
    all_present = all(item.status in (FRESH, HISTORICAL) for item in rows)
    for name in plan.feature_names:
        cells = [item.values[name] for item in rows]
        raw = [c.value for c in cells]
        if all_present:
            statuses = ["NULL_VALUE" if v is None else "PRESENT" for v in raw]
        else:
            statuses = [_status(item.status, v) for item, v in zip(rows, raw, strict=True)]
        times = [c.event_time_s for c in cells]
        spelled = {stamp: rfc3339(stamp) or EPOCH for stamp in set(times)}
        column = {
            "values": [v if v is None or -_INF < v < _INF else json_float(v) for v in raw],
            "statuses": statuses,
            "event_timestamps": [spelled[stamp] for stamp in times],
        }
        if request.include_sources:
            column["sources"] = [c.source for c in cells]
        results.append(column)
    return {"results": results, "metadata": {"feature_names": _names(plan, request)}}


def _names(plan: ReadPlan, request: OnlineRequest) -> list[str]:
    return [ENTITY, *plan.names(request.full_feature_names)]


def _single_row(item, names: list[str], include_sources: bool) -> list[dict]:
    """One ticker's columns, cell by cell: for one row the per-column shortcuts of render
    (sets, dicts of spellings, five comprehensions a column) cost more than they save."""
    columns = []
    for name in names:
        cell = item.values[name]
        column = {"values": [json_float(cell.value)], "statuses": [_status(item.status, cell.value)],
                  "event_timestamps": [rfc3339(cell.event_time_s) or EPOCH]}
        if include_sources:
            column["sources"] = [cell.source]
        columns.append(column)
    return columns
