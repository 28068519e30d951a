"""HTTP clients for the feature server: FeatureClient (sync) and AsyncFeatureClient.

Both keep a pooled keep-alive connection (httpx), bound every call by timeouts, and retry
with exponential backoff and jitter (tenacity) on what a retry can fix: 503 (a store is
down, the server says so within its deadline) and connection errors (a restart). A 4xx
is the caller's mistake and raises FeatureClientError at once, naming the problem.

    with FeatureClient("http://127.0.0.1:6566") as client:
        aapl = client.get_features("AAPL", ["ret_1d", "vol_20d"])
        aapl["vol_20d"].value, aapl["vol_20d"].status, aapl["vol_20d"].age_s
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from stockfeatures.client.results import (
    FeatureClientError,
    FeaturesUnavailable,
    TickerFeatures,
    parse_online_response,
)

TIER_HEADER = "x-stockfeatures-tier"
ONLINE_ROUTE = "/get-online-features"


class _Retryable(Exception):
    """Internal: a 503 or transport error worth another attempt."""


@dataclass(frozen=True)
class ClientOptions:
    """timeout_s: per attempt (connect, read, write, pool); retries: attempts after the first;
    backoff_s / max_backoff_s: first and largest wait between attempts (with jitter);
    max_connections: the pool's size."""

    timeout_s: float = 2.0
    retries: int = 3
    backoff_s: float = 0.05
    max_backoff_s: float = 1.0
    max_connections: int = 20

    def retry_policy(self) -> dict:
        return {
            "stop": stop_after_attempt(self.retries + 1),
            "wait": wait_exponential_jitter(initial=self.backoff_s, max=self.max_backoff_s),
            "retry": retry_if_exception(lambda error: isinstance(error, _Retryable)),
            "reraise": True,
        }


def _body(tickers: Sequence[str], features: Sequence[str] | None, service: str | None) -> dict:
    if features is not None and service is not None:
        raise ValueError("give feature names or a feature service (service=...), not both")
    if features is None and service is None:
        from stockfeatures.features.spec import FEATURE_NAMES

        features = list(FEATURE_NAMES)
    body: dict = {"entities": {"ticker": list(tickers)}, "include_sources": True}
    if service:
        body["feature_service"] = service
    else:
        body["features"] = list(features or ())
    return body


def _as_of_params(ticker: str, features: Sequence[str] | None, service: str | None,
                  as_of: datetime) -> dict:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    params = {"as_of": as_of.isoformat()}
    if service:
        params["service"] = service
    if features:
        params["features"] = ",".join(features)
    return params


def _check(response: httpx.Response) -> httpx.Response:
    """The response if usable (an unknown ticker is a result, not an error), else raise."""
    if response.status_code == 503:
        raise _Retryable(f"HTTP 503: {response.text}")
    if response.status_code < 400:
        return response
    try:
        payload = response.json()
        kind, detail = payload.get("error", "error"), payload.get("detail", response.text)
    except ValueError:
        kind, detail = "error", response.text
    if kind == "unknown_ticker":
        return response
    raise FeatureClientError(response.status_code, kind, detail)


def _ticker_from_get(ticker: str, response: httpx.Response) -> TickerFeatures:
    """GET /features/{ticker} (the as_of path) in the same typed shape."""
    payload = response.json()
    columns = [{"values": [ticker]}]
    names = ["ticker"]
    status = {"historical": "PRESENT", "fresh": "PRESENT", "stale": "OUTSIDE_MAX_AGE",
              "unknown": "NOT_FOUND"}[payload["status"]]
    for name, cell in payload["features"].items():
        names.append(name)
        cell_status = status if cell["value"] is not None or status == "NOT_FOUND" else "NULL_VALUE"
        columns.append({"values": [cell["value"]], "statuses": [cell_status],
                        "event_timestamps": [cell["event_timestamp"]], "sources": [cell["source"]]})
    parsed = parse_online_response({"results": columns, "metadata": {"feature_names": names}},
                                   response.headers.get(TIER_HEADER))
    return parsed[ticker]


def _pool(base_url: str, options: ClientOptions, transport) -> dict:
    """httpx client settings shared by the sync and async clients: one keep-alive pool."""
    return {"base_url": base_url, "timeout": options.timeout_s, "transport": transport,
            "limits": httpx.Limits(max_connections=options.max_connections,
                                   max_keepalive_connections=options.max_connections)}


class FeatureClient:
    """Synchronous client; one instance per strategy process (it holds a connection pool)."""

    def __init__(self, base_url: str = "http://127.0.0.1:6566", options: ClientOptions | None = None,
                 transport: httpx.BaseTransport | None = None):
        """transport: httpx's hook (e.g. a proxy transport); default a pooled TCP one."""
        self.options = options or ClientOptions()
        self._http = httpx.Client(**_pool(base_url, self.options, transport))

    def __enter__(self) -> FeatureClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            for attempt in Retrying(**self.options.retry_policy()):
                with attempt:
                    try:
                        return _check(self._http.request(method, url, **kwargs))
                    except httpx.TransportError as error:
                        raise _Retryable(f"{type(error).__name__}: {error}") from error
        except _Retryable as error:
            raise FeaturesUnavailable(
                f"feature server unavailable after {self.options.retries + 1} attempts: {error}") from error
        raise AssertionError("unreachable")  # pragma: no cover

    def get_many(self, tickers: Sequence[str], features: Sequence[str] | None = None,
                 service: str | None = None) -> dict[str, TickerFeatures]:
        """Latest features of several tickers in one request (ticker -> TickerFeatures)."""
        response = self._send("POST", ONLINE_ROUTE, json=_body(tickers, features, service))
        return parse_online_response(response.json(), response.headers.get(TIER_HEADER))

    def get_features(self, ticker: str, feature_names: Sequence[str] | None = None,
                     as_of: datetime | None = None, *, service: str | None = None) -> TickerFeatures:
        """One ticker's features: latest, or as known at `as_of` (point in time)."""
        if as_of is not None:
            response = self._send("GET", f"/features/{ticker}",
                                  params=_as_of_params(ticker, feature_names, service, as_of))
            return _ticker_from_get(ticker.upper(), response)
        return next(iter(self.get_many([ticker], feature_names, service).values()))

    def warm_cache(self, tickers: Sequence[str], service: str | None = None) -> int:
        """Read `tickers` once so the server fills what it misses; returns how many it knows."""
        found = self.get_many(tickers, None, service)
        return sum(item.found for item in found.values())


class AsyncFeatureClient:
    """asyncio client with the same calls as FeatureClient, for async trading loops."""

    def __init__(self, base_url: str = "http://127.0.0.1:6566", options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.options = options or ClientOptions()
        self._http = httpx.AsyncClient(**_pool(base_url, self.options, transport))

    async def __aenter__(self) -> AsyncFeatureClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            async for attempt in AsyncRetrying(**self.options.retry_policy()):
                with attempt:
                    try:
                        return _check(await self._http.request(method, url, **kwargs))
                    except httpx.TransportError as error:
                        raise _Retryable(f"{type(error).__name__}: {error}") from error
        except _Retryable as error:
            raise FeaturesUnavailable(
                f"feature server unavailable after {self.options.retries + 1} attempts: {error}") from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_many(self, tickers: Sequence[str], features: Sequence[str] | None = None,
                       service: str | None = None) -> dict[str, TickerFeatures]:
        response = await self._send("POST", ONLINE_ROUTE, json=_body(tickers, features, service))
        return parse_online_response(response.json(), response.headers.get(TIER_HEADER))

    async def get_features(self, ticker: str, feature_names: Sequence[str] | None = None,
                           as_of: datetime | None = None, *, service: str | None = None) -> TickerFeatures:
        if as_of is not None:
            response = await self._send("GET", f"/features/{ticker}",
                                        params=_as_of_params(ticker, feature_names, service, as_of))
            return _ticker_from_get(ticker.upper(), response)
        return next(iter((await self.get_many([ticker], feature_names, service)).values()))

    async def warm_cache(self, tickers: Sequence[str], service: str | None = None) -> int:
        found = await self.get_many(tickers, None, service)
        return sum(item.found for item in found.values())
