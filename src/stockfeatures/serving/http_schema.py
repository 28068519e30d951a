"""The HTTP API's documented shapes (OpenAPI): request body, responses and errors.

The read handlers parse and answer with orjson (pydantic on the hot path would cost more
than the read); these models only describe what they accept and return, so /openapi.json
is a contract a client generator or schemathesis can check the server against.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DESCRIPTION = (
    "Point-in-time equity features over Feast. POST /get-online-features speaks the "
    "`feast serve` wire format; GET /features/{ticker} answers one ticker with each value's "
    "event time and source. The x-stockfeatures-tier header says which tier answered "
    "(online, cache, warehouse)."
)

Number = float | Literal["NaN", "Infinity", "-Infinity"] | None


class OnlineRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    entities: dict[str, list] = Field(
        description='{"ticker": ["AAPL", ...]}; other keys are request data for on-demand views, '
                    "one value per ticker", examples=[{"ticker": ["AAPL", "MSFT"]}])
    features: list[str] | None = Field(None, description="feature references (view:feature or a "
                                                         "bare FeatureSpec name)")
    feature_service: str | None = Field(None, description="a feature service instead of features")
    full_feature_names: bool = Field(False, description="name columns view__feature")
    include_sources: bool = Field(False, description="add each value's source per column")


class OnlineColumn(BaseModel):
    values: list[Number | str]
    statuses: list[Literal["PRESENT", "OUTSIDE_MAX_AGE", "NULL_VALUE", "NOT_FOUND", "INVALID"]]
    event_timestamps: list[str]
    sources: list[str | None] | None = None


class OnlineMetadata(BaseModel):
    feature_names: list[str]


class OnlineResponse(BaseModel):
    results: list[OnlineColumn]
    metadata: OnlineMetadata


class FeatureCell(BaseModel):
    value: Number
    event_timestamp: str | None
    source: Literal["online", "offline", "computed"] | None


class TickerResponse(BaseModel):
    ticker: str
    status: Literal["fresh", "stale", "historical", "unknown"]
    features: dict[str, FeatureCell]


class ErrorResponse(BaseModel):
    error: str = Field(description="a stable kind, e.g. invalid_ticker, unknown_feature, unavailable")
    detail: str = Field(description="what is wrong, in words a person can act on")


class UnknownTickerResponse(TickerResponse):
    error: Literal["unknown_ticker"]
    detail: str


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "down"]
    redis: str
    postgres: str
    circuit_breaker: Literal["open", "closed"]
    postgres_circuit_breaker: Literal["open", "closed"]


def _error(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


READ_ERRORS = {
    400: _error("the body is not JSON"),
    404: _error("unknown feature or feature service"),
    413: _error("the body is over the size limit"),
    422: _error("the request is malformed: bad ticker, too many tickers, wrong field types"),
    503: _error("neither the online store nor the warehouse answered in time"),
}

TICKER_ERRORS = {
    404: {"model": UnknownTickerResponse | ErrorResponse,
          "description": "unknown ticker, feature or feature service"},
    422: _error("bad ticker, bad as_of, features and service together"),
    503: _error("neither the online store nor the warehouse answered in time"),
}

class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    push_source_name: str = Field(description="the push source; this server writes intraday_push",
                                  examples=["intraday_push"])
    df: dict[str, list] = Field(
        description="columns of features_intraday: ticker, event_timestamp (bar end, ISO-8601 with "
                    "zone), optional created_timestamp, one number or null per intraday feature")
    to: Literal["online", "offline", "online_and_offline"] = Field(
        "online", description="where the rows go, as Feast's PushMode")
    allow_registry_cache: bool = Field(True, description="accepted for feast serve compatibility")
    transform_on_write: bool = Field(True, description="accepted for feast serve compatibility")


class PushResponse(BaseModel):
    push_source_name: str
    to: Literal["online", "offline", "online_and_offline"]
    received: int = Field(description="rows in the body")
    pushed: int = Field(description="new versions written")
    unchanged: int = Field(description="rows already known (a re-push adds nothing)")
    offline_via: str | None = Field(description="who wrote the offline half")


PUSH_ERRORS = {
    400: _error("the body is not JSON"),
    404: _error("unknown push source"),
    413: _error("the body is over the size limit"),
    422: _error("a field, column or value is wrong; the detail names it"),
    503: _error("the online store or the warehouse did not take the write in time"),
}

# The handler reads the raw body itself; this documents it (FastAPI cannot infer it).
ONLINE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": OnlineRequest.model_json_schema(
            ref_template="#/components/schemas/{model}")}},
    }
}

PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PushRequest.model_json_schema(
            ref_template="#/components/schemas/{model}")}},
    }
}
