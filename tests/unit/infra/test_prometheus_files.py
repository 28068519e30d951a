"""Prometheus scrapes every exporter of the stack and every alert says what to do."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.unit.infra.compose_file import services
from tests.unit.infra.monitoring_config import OPERATIONS_DOC, PROMETHEUS_CONFIG, REPO, rules

REQUIRED_ALERTS = {
    "OnlineHitRateLow": "hit rate < 95%",
    "ServingLatencyP99High": "p99 > 5 ms",
    "ServingErrorRateHigh": "error rate > 1%",
    "FeaturesStale": "features older than one session",
    "PipelineFailed": "pipeline failures",
}
CONTAINER_PORTS = {"feature-server": 6566, "pushgateway": 9091, "redis-exporter": 9121}


def _scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return {job["job_name"]: [target for static in job["static_configs"] for target in static["targets"]]
            for job in config["scrape_configs"]}


def _doc_anchors() -> set[str]:
    """GitHub-style anchors of the runbook's headings."""
    anchors = set()
    for line in OPERATIONS_DOC.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize(("service", "port"), sorted(CONTAINER_PORTS.items()))
def test_prometheus_scrapes_each_exporter_by_its_compose_service_name(service: str, port: int) -> None:
    assert service in services()
    targets = [target for job in _scrape_targets().values() for target in job]
    assert f"{service}:{port}" in targets


def test_pushed_pipeline_metrics_keep_their_own_labels() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "pushgateway"]
    assert job["honor_labels"] is True


@pytest.mark.parametrize(("alert", "meaning"), sorted(REQUIRED_ALERTS.items()))
def test_the_alert_the_issue_asks_for_exists(alert: str, meaning: str) -> None:
    assert alert in {rule["alert"] for rule in rules("alert")}, f"no alert for {meaning}"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section() -> None:
    anchors = _doc_anchors()
    for rule in rules("alert"):
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/operations.md#{rule['alert'].lower()}", rule["alert"]
        assert runbook.split("#")[1] in anchors, f"docs/operations.md has no section {rule['alert']}"


def test_thresholds_are_the_ones_the_seed_promises() -> None:
    exprs = {rule["alert"]: " ".join(rule["expr"].split()) for rule in rules("alert")}
    assert exprs["OnlineHitRateLow"].endswith("< 0.95")
    assert exprs["ServingLatencyP99High"].endswith("> 0.005")
    assert exprs["ServingErrorRateHigh"].endswith("> 0.01")


def test_client_error_kinds_left_out_of_the_error_ratio_are_kinds_serving_reports() -> None:
    """A renamed kind would silently start counting client mistakes as platform errors."""
    (rule,) = [rule for rule in rules("record") if rule["record"] == "stockfeatures:error_ratio:rate5m"]
    excluded = re.search(r'kind!~"([^"]+)"', rule["expr"]).group(1).split("|")
    source = "\n".join(path.read_text() for path in (REPO / "src" / "stockfeatures" / "serving").glob("*.py"))
    for kind in excluded:
        assert f'"{kind}"' in source, f"serving never reports an error of kind {kind!r}"
