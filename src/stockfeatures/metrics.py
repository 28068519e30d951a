"""Every Prometheus metric of the platform: the single place metric names live.

Correct with several worker processes: when PROMETHEUS_MULTIPROC_DIR is set *before Python
starts* (infra/serve.sh does it), prometheus-client writes each process's values to mmap
files there and `render_latest()` aggregates them with a MultiProcessCollector from a fresh
registry. Labels are bounded sets (route templates, sources, outcomes, error kinds), never a
ticker, so a scan over many symbols cannot blow up the series count.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SECONDS_PER_MONTH = 30 * 24 * 3600

# One lookup of one ticker. source: where its values came from (online | offline | computed |
# none); outcome: hit (fresh from the online store), filled (miss completed by the lazy path),
# stale (best value known is older than the latest session), unknown (no data for the
# ticker), fallback (Redis unavailable, served from the warehouse), historical (as_of read).
REQUESTS = Counter(
    "stockfeatures_requests",
    "Ticker lookups served, by where the values came from and how the lookup ended",
    ["source", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "stockfeatures_request_seconds",
    "HTTP request latency by route template",
    ["route"],
    buckets=(0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5, 1.0, 5.0),
)
COMPUTATIONS = Counter(
    "stockfeatures_computations",
    "Lazy fills executed under the per-ticker lock (origin: warehouse row or recomputed from prices)",
    ["origin"],
)
ERRORS = Counter(
    "stockfeatures_errors",
    "Failures absorbed or reported by serving, by kind",
    ["kind"],
)
UPSTREAM_CALLS = Counter(
    "stockfeatures_upstream_calls",
    "Reads that went past the online cache to the warehouse (the costly path)",
    ["target"],
)
FEATURE_AGE_SECONDS = Histogram(
    "stockfeatures_feature_age_seconds",
    "Age of served values: request time minus the oldest event_timestamp among a ticker's values",
    buckets=(3600, 6 * 3600, 86400, 2 * 86400, 3 * 86400, 4 * 86400, 7 * 86400, 30 * 86400),
)
# Each serving worker records its start, one series per pid ("all"). The gauge is created
# only by mark_server_start: in multiprocess mode a gauge writes a 0 for its process as
# soon as it exists, which /metrics would show as a worker "started" at 1970.
_SERVER_START: Gauge | None = None

# The cost extrapolates the upstream call rate over at least this long: five calls in a
# first minute are not $258 a month.
MIN_COST_WINDOW_S = 3600.0

COST_METRIC = "stockfeatures_estimated_monthly_cost_usd"

# --- intraday tier (issue 13) -------------------------------------------------------------
# The push path records, per push-fed view, the newest bar end it wrote; the lag (now minus
# that) is derived at scrape time, so it keeps growing while nothing is pushed, which a
# value set at push time would not. "max" over worker processes: any worker's push counts.
INTRADAY_NEWEST_BAR_END = Gauge(
    "stockfeatures_intraday_newest_bar_end_timestamp_seconds",
    "Newest bar end (unix time) pushed to each intraday view by this process (max over workers)",
    ["view"],
    multiprocess_mode="max",
)
INTRADAY_LAG_METRIC = "stockfeatures_intraday_lag_seconds"
MARKET_ELAPSED_METRIC = "stockfeatures_market_session_elapsed_seconds"
_NEWEST_BAR_ENDS: dict[str, float] = {}


def record_intraday_push(view: str, newest_bar_end_s: float) -> None:
    """Called by the push path after a push; a late, older bar never lowers the newest."""
    if newest_bar_end_s > _NEWEST_BAR_ENDS.get(view, float("-inf")):
        _NEWEST_BAR_ENDS[view] = newest_bar_end_s
        INTRADAY_NEWEST_BAR_END.labels(view).set(newest_bar_end_s)


def newest_intraday_bar_ends() -> dict[str, float]:
    """What this process pushed: view -> newest bar end (the flows push it with their outcome)."""
    return dict(_NEWEST_BAR_ENDS)


def market_session_elapsed_s(now_s: float) -> float:
    """Seconds since the regular XNYS session in progress opened; 0 outside regular hours."""
    import pandas as pd

    from stockfeatures import trading_calendar
    from stockfeatures.intraday.session_clock import open_session

    session = open_session(pd.Timestamp(now_s, unit="s", tz="UTC"))
    if session is None:
        return 0.0
    return now_s - trading_calendar.calendar().opens[session].timestamp()


class _IntradayLagCollector:
    """Per intraday view, now minus the newest bar end any worker pushed; and the market clock.

    Both at scrape time from the aggregated samples, like the cost. The session clock lets
    the IntradayLagHigh alert stay quiet overnight and in a session's first 10 minutes (when
    the newest bar is, rightly, yesterday's).
    """

    def __init__(self, source: CollectorRegistry, clock=time.time):
        self._source = source
        self._clock = clock

    def collect(self):
        now = self._clock()
        newest: dict[str, float] = {}
        for family in self._source.collect():
            for sample in family.samples:
                if sample.name == "stockfeatures_intraday_newest_bar_end_timestamp_seconds":
                    view = sample.labels["view"]
                    newest[view] = max(newest.get(view, float("-inf")), sample.value)
        lag = GaugeMetricFamily(INTRADAY_LAG_METRIC,
                                "Now minus the newest bar end pushed to each intraday view", labels=["view"])
        for view, stamp in sorted(newest.items()):
            lag.add_metric([view], now - stamp)
        yield lag
        elapsed = GaugeMetricFamily(
            MARKET_ELAPSED_METRIC,
            "Seconds since the regular XNYS session in progress opened (0 outside regular hours)")
        elapsed.add_metric([], market_session_elapsed_s(now))
        yield elapsed


def mark_server_start() -> None:
    global _SERVER_START
    if _SERVER_START is None:
        _SERVER_START = Gauge(
            "stockfeatures_server_start_time_seconds",
            "Unix time each serving worker started",
            multiprocess_mode="all",
        )
    _SERVER_START.set(time.time())


def upstream_call_price_usd() -> float:
    """Price of one upstream call, from STOCKFEATURES_UPSTREAM_CALL_PRICE_USD (default 0.001)."""
    raw = os.environ.get("STOCKFEATURES_UPSTREAM_CALL_PRICE_USD", "0.001")
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"STOCKFEATURES_UPSTREAM_CALL_PRICE_USD={raw!r} is not a number of dollars"
        ) from None


def monthly_cost(upstream_calls: float, uptime_seconds: float, price_per_call: float) -> float:
    """Upstream spend per 30 days if the rate seen since start continues.

    The rate is taken over max(uptime, MIN_COST_WINDOW_S): a burst of fills right after
    start-up (warm-up misses) would otherwise extrapolate to an absurd monthly figure.
    """
    if uptime_seconds <= 0:
        return 0.0
    return upstream_calls / max(uptime_seconds, MIN_COST_WINDOW_S) * SECONDS_PER_MONTH * price_per_call


class _CostCollector:
    """Derives the monthly cost at scrape time from the already aggregated counters.

    A per-worker gauge would only move when that worker calls upstream and would keep dead
    workers' values; computing it from the summed counter and the server start does neither.
    """

    def __init__(self, source: CollectorRegistry):
        self._source = source

    def collect(self):
        calls = 0.0
        started = None
        for family in self._source.collect():
            for sample in family.samples:
                if sample.name == "stockfeatures_upstream_calls_total":
                    calls += sample.value
                elif sample.name == "stockfeatures_server_start_time_seconds" and sample.value > 0:
                    started = sample.value if started is None else min(started, sample.value)
        uptime = time.time() - started if started else 0.0
        gauge = GaugeMetricFamily(
            COST_METRIC,
            "Upstream calls per second since start x 30 days x STOCKFEATURES_UPSTREAM_CALL_PRICE_USD",
        )
        gauge.add_metric([], monthly_cost(calls, uptime, upstream_call_price_usd()))
        yield gauge


def render_latest() -> tuple[bytes, str]:
    """The exposition text for GET /metrics, aggregated over every worker process."""
    if os.environ.get(MULTIPROC_ENV):
        source = CollectorRegistry()
        MultiProcessCollector(source)
    else:
        from prometheus_client import REGISTRY as source
    output = CollectorRegistry()
    output.register(_Forward(source))
    output.register(_CostCollector(source))
    output.register(_IntradayLagCollector(source))
    return generate_latest(output), CONTENT_TYPE_LATEST


class _Forward:
    """Re-exposes a registry's metrics inside another one (so the cost can be added)."""

    def __init__(self, source: CollectorRegistry):
        self._source = source

    def collect(self):
        yield from self._source.collect()


# --- batch pipelines -------------------------------------------------------------------
# Flows are short-lived processes, so they push their outcome to a Pushgateway instead of
# being scraped. The `flow` label comes from the push's grouping key.
PUSHGATEWAY_ENV = "STOCKFEATURES_PUSHGATEWAY_URL"
PIPELINE_JOB = "stockfeatures_pipelines"


def pipeline_outcome_registry(
    succeeded: bool, at: float, newest_event_timestamps: dict[str, float] | None = None,
    intraday_bar_ends: dict[str, float] | None = None,
) -> CollectorRegistry:
    """A fresh registry describing one flow run (fresh, so flows never push each other's values).

    newest_event_timestamps: per feature view, the newest event_timestamp (unix seconds)
    the run wrote to the online store; it feeds the freshness-per-view panel.
    intraday_bar_ends: per intraday view, the newest bar end the flow's process pushed
    (newest_intraday_bar_ends()); with the feature server's own, it feeds the intraday lag.
    """
    registry = CollectorRegistry()
    outcome = "success" if succeeded else "failure"
    Gauge(
        f"stockfeatures_pipeline_last_{outcome}_timestamp_seconds",
        f"Unix time the flow's latest {outcome} finished",
        registry=registry,
    ).set(at)
    if newest_event_timestamps:
        newest = Gauge(
            "stockfeatures_materialized_event_timestamp_seconds",
            "Newest event_timestamp the flow wrote to the online store, per feature view",
            ["view"],
            registry=registry,
        )
        for view, stamp in newest_event_timestamps.items():
            newest.labels(view).set(stamp)
    if intraday_bar_ends:
        pushed = Gauge(
            "stockfeatures_intraday_newest_bar_end_timestamp_seconds",
            "Newest bar end (unix time) the flow pushed to each intraday view",
            ["view"],
            registry=registry,
        )
        for view, stamp in intraday_bar_ends.items():
            pushed.labels(view).set(stamp)
    return registry


def push_pipeline_outcome(
    flow: str, succeeded: bool, newest_event_timestamps: dict[str, float] | None = None,
) -> bool:
    """Push a flow's outcome when STOCKFEATURES_PUSHGATEWAY_URL is set; True when pushed.

    pushadd (not push) keeps the other outcome's timestamp, so the PipelineFailed alert can
    compare the last failure with the last success. The newest intraday bar ends this
    process pushed go along, so the intraday lag sees the flow's pushes, not only the server's.
    """
    url = os.environ.get(PUSHGATEWAY_ENV)
    if not url:
        return False
    from prometheus_client import pushadd_to_gateway

    registry = pipeline_outcome_registry(succeeded, time.time(), newest_event_timestamps,
                                         newest_intraday_bar_ends())
    pushadd_to_gateway(url, job=PIPELINE_JOB, grouping_key={"flow": flow}, registry=registry)
    return True
