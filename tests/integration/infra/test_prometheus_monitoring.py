"""The alert rules and the dashboard work against a real Prometheus scraping a real server.

Every PromQL expression must evaluate, and every metric it names must be one the code really
exports: the feature server's /metrics (read live), the flows' pushed metrics (built by
stockfeatures.metrics), recording rules, or an exporter name pinned below. Renaming a metric
in src/stockfeatures/metrics.py makes this file fail.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.integration.infra.conftest import Binaries, RunningPrometheus, RunningServer
from tests.unit.infra.monitoring_config import (
    PROMETHEUS_CONFIG,
    RULE_FILES,
    RULE_TESTS,
    Expression,
    all_expressions,
    exported_sample_names,
    metric_names,
    recorded_names,
    rules,
    with_grafana_macros_resolved,
)

pytestmark = pytest.mark.integration

# Series Prometheus writes itself for every scrape target.
PROMETHEUS_SYNTHETIC = {"up"}

# oliver006/redis_exporter cannot run here (no container engine, and it is not a Debian
# package in .ci/run), so its names are pinned. Source: oliver006/redis_exporter,
# exporter/exporter.go, namespace "redis": metricMapGauges "used_memory" -> memory_used_bytes,
# "maxmemory" -> memory_max_bytes; metricMapCounters "evicted_keys" -> evicted_keys_total;
# metricDescriptions "up" and "db_keys" (label db). Keep this list to names read there.
REDIS_EXPORTER_PINNED = {
    "redis_up",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_evicted_keys_total",
    "redis_db_keys",
}

# What the flows push to the Pushgateway; the names must come out of stockfeatures.metrics.
PIPELINE_METRICS = {
    "stockfeatures_pipeline_last_success_timestamp_seconds",
    "stockfeatures_pipeline_last_failure_timestamp_seconds",
    "stockfeatures_materialized_event_timestamp_seconds",
}


def _promtool(binaries: Binaries, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binaries.promtool, *args], capture_output=True, text=True, timeout=60, check=False)


def _query(prometheus: RunningPrometheus, promql: str) -> dict:
    response = prometheus.api.get("/api/v1/query", params={"query": promql})
    return response.json()


def _wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def _declared_in_metrics_module() -> set[str]:
    """Series names of every metric stockfeatures.metrics defines.

    Needed beside the live page because with several workers prometheus-client only exposes
    a labelled counter once some worker has incremented it (e.g. errors of a kind that has not
    happened yet); a rename in metrics.py changes these names too.
    """
    from prometheus_client.metrics import MetricWrapperBase

    from stockfeatures import metrics

    names = {metrics.COST_METRIC}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names |= exported_sample_names(f"# TYPE {family.name} {family.type}\n")
    return names


def _server_exports(feature_server: RunningServer) -> set[str]:
    live = exported_sample_names(httpx.get(f"{feature_server.base_url}/metrics", timeout=5).text)
    return live | _declared_in_metrics_module()


def _send_traffic(feature_server: RunningServer) -> None:
    """A few lookups, including an unknown ticker, so the serving counters have samples."""
    for ticker in ("AAPL", "ZZZZ9"):
        httpx.get(f"{feature_server.base_url}/features/{ticker}", params={"service": "momentum_v1"}, timeout=30)


def unexported_names(expressions: list[Expression], exported: set[str]) -> dict[str, set[str]]:
    """Per expression, the metric names nothing exports (empty dict: all resolved)."""
    known = exported | recorded_names() | PROMETHEUS_SYNTHETIC | REDIS_EXPORTER_PINNED | PIPELINE_METRICS
    missing = {}
    for expression in expressions:
        unknown = metric_names(expression.promql) - known
        if unknown:
            missing[expression.where] = unknown
    return missing


def test_promtool_accepts_the_committed_config_and_rules(binaries: Binaries) -> None:
    config = _promtool(binaries, "check", "config", str(PROMETHEUS_CONFIG))
    assert config.returncode == 0, config.stdout + config.stderr
    checked = _promtool(binaries, "check", "rules", *map(str, RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alerts_fire_on_the_situations_they_name(binaries: Binaries) -> None:
    """infra/prometheus/tests/: promtool's rule unit tests over synthetic series."""
    assert RULE_TESTS
    result = _promtool(binaries, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_the_feature_server(prometheus: RunningPrometheus) -> None:
    def target_up():
        targets = prometheus.api.get("/api/v1/targets").json()["data"]["activeTargets"]
        ours = [t for t in targets if t["labels"]["job"] == "stockfeatures"]
        return ours and all(t["health"] == "up" for t in ours)

    _wait_for(target_up, "the stockfeatures scrape target to be up")
    result = _query(prometheus, 'up{job="stockfeatures"}')["data"]["result"]
    assert [sample["value"][1] for sample in result] == ["1"]


@pytest.mark.parametrize("expression", all_expressions(), ids=lambda e: e.where)
def test_every_expression_evaluates_without_error(prometheus: RunningPrometheus, expression: Expression) -> None:
    body = _query(prometheus, with_grafana_macros_resolved(expression.promql))
    assert body["status"] == "success", f"{expression.where}: {body.get('error')}"


def test_every_rule_is_loaded_and_evaluates_healthy(prometheus: RunningPrometheus) -> None:
    expected = {rule.get("alert") or rule.get("record") for kind in ("alert", "record") for rule in rules(kind)}

    def evaluated_rules():
        groups = prometheus.api.get("/api/v1/rules").json()["data"]["groups"]
        loaded = [rule for group in groups for rule in group["rules"]]
        if {rule["name"] for rule in loaded} != expected:
            return None
        return loaded if all(rule["health"] != "unknown" for rule in loaded) else None

    loaded = _wait_for(evaluated_rules, "every rule to be loaded and evaluated once")
    unhealthy = {rule["name"]: rule.get("lastError") for rule in loaded if rule["health"] != "ok"}
    assert not unhealthy


def test_stockfeatures_metrics_in_rules_and_dashboard_are_exported_by_the_live_server(
    feature_server: RunningServer,
) -> None:
    _send_traffic(feature_server)
    live = exported_sample_names(httpx.get(f"{feature_server.base_url}/metrics", timeout=5).text)
    core = {"stockfeatures_requests_total", "stockfeatures_request_seconds_bucket",
            "stockfeatures_estimated_monthly_cost_usd"}
    assert core <= live, f"the live server does not expose {sorted(core - live)}"
    exported = _server_exports(feature_server)
    served = {name for expression in all_expressions() for name in metric_names(expression.promql)
              if name.startswith("stockfeatures_") and name not in PIPELINE_METRICS}
    assert served, "the rules and dashboard use no serving metric at all"
    assert served <= exported, f"not exported by the feature server: {sorted(served - exported)}"
    assert not unexported_names(all_expressions(), exported)


def test_pipeline_metrics_the_rules_expect_are_defined_in_stockfeatures_metrics() -> None:
    """The flows push these; they must be built by the one module that names metrics."""
    from prometheus_client import generate_latest

    from stockfeatures import metrics

    build = getattr(metrics, "pipeline_outcome_registry", None)
    assert build is not None, (
        "stockfeatures.metrics has no pipeline_outcome_registry(succeeded, at, "
        "newest_event_timestamps): the PipelineFailed alert and the freshness panel expect the "
        f"flows to push {sorted(PIPELINE_METRICS)}")
    pushed = set()
    for succeeded in (True, False):
        registry = build(succeeded=succeeded, at=time.time(), newest_event_timestamps={"returns_daily": 1.0})
        pushed |= exported_sample_names(generate_latest(registry).decode())
    assert pushed >= PIPELINE_METRICS, f"not built by metrics.py: {sorted(PIPELINE_METRICS - pushed)}"


def test_a_metric_renamed_in_code_is_reported(feature_server: RunningServer) -> None:
    """Rename one family in what the server and metrics.py export: the check must notice."""
    renamed = {name.replace("stockfeatures_request_seconds", "stockfeatures_renamed_seconds")
               for name in _server_exports(feature_server)}
    missing = unexported_names(all_expressions(), renamed)
    assert missing, "renaming stockfeatures_request_seconds went unnoticed"
    reported = set().union(*missing.values())
    assert {name.rsplit("_", 1)[0] for name in reported} == {"stockfeatures_request_seconds"}, missing


def test_recorded_service_levels_have_values_once_requests_flow(
    feature_server: RunningServer, prometheus: RunningPrometheus,
) -> None:
    """Label names in the rules (route, outcome, le) match what the server records."""
    for _ in range(3):
        _send_traffic(feature_server)
        time.sleep(1.2)

    def recorded(name):
        return lambda: _query(prometheus, name)["data"]["result"]

    for name in ("stockfeatures:request_seconds:p99_5m", "stockfeatures:online_hit_ratio:rate5m"):
        _wait_for(recorded(name), f"{name} to have a value")
