"""Grafana comes up with the Prometheus datasource and the dashboard, no clicking needed."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.infra.compose_file import services
from tests.unit.infra.monitoring_config import (
    DASHBOARD_FILES,
    DASHBOARD_PROVIDER_FILE,
    DATASOURCE_FILE,
    dashboard_panels,
    load_dashboard,
    metric_names,
    recorded_names,
)

# What the seed asks the dashboard to show, and a metric that proves each panel shows it.
REQUIRED_VIEWS = {
    "online hit rate": "stockfeatures:online_hit_ratio:rate5m",
    "latency p50": "stockfeatures:request_seconds:p50_5m",
    "latency p95": "stockfeatures:request_seconds:p95_5m",
    "latency p99": "stockfeatures:request_seconds:p99_5m",
    "estimated monthly cost": "stockfeatures_estimated_monthly_cost_usd",
    "upstream calls": "stockfeatures_upstream_calls_total",
    "error rate": "stockfeatures:error_ratio:rate5m",
    "top requested routes": "stockfeatures_request_seconds_count",
    "redis memory": "redis_memory_used_bytes",
    "freshness per view": "stockfeatures_materialized_event_timestamp_seconds",
}


def _datasource() -> dict:
    (source,) = yaml.safe_load(DATASOURCE_FILE.read_text())["datasources"]
    return source


def _dashboard() -> dict:
    (path,) = DASHBOARD_FILES
    return load_dashboard(path)


def test_the_datasource_has_a_fixed_uid_and_points_at_the_compose_prometheus() -> None:
    source = _datasource()
    assert source["uid"] == "stockfeatures-prometheus"
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in services()


def test_every_panel_and_query_uses_the_provisioned_datasource_by_uid() -> None:
    uid = _datasource()["uid"]
    for panel in dashboard_panels(_dashboard()):
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, (panel["title"], target["refId"])


def test_the_dashboard_has_no_sharing_placeholders_grafana_provisioning_cannot_resolve() -> None:
    (path,) = DASHBOARD_FILES
    text = path.read_text()
    assert "__inputs" not in json.loads(text)
    assert "${DS_" not in text


def test_the_provider_loads_the_folder_compose_mounts_the_dashboards_into() -> None:
    (provider,) = yaml.safe_load(DASHBOARD_PROVIDER_FILE.read_text())["providers"]
    mounts = dict(volume.split(":")[:2] for volume in services()["grafana"]["volumes"])
    assert mounts["./infra/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_every_panel_queries_something_and_panel_ids_are_unique() -> None:
    dashboard = _dashboard()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard_panels(dashboard):
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), (panel["title"], target["refId"])


@pytest.mark.parametrize(("view", "metric"), sorted(REQUIRED_VIEWS.items()))
def test_the_dashboard_shows_what_the_seed_asks_for(view: str, metric: str) -> None:
    used = set().union(*(metric_names(target["expr"])
                         for panel in dashboard_panels(_dashboard()) for target in panel["targets"]))
    assert metric in used, f"no panel shows {view} (expected a query on {metric})"


def test_the_hit_rate_panels_mark_the_95_percent_target() -> None:
    panels = [panel for panel in dashboard_panels(_dashboard())
              if any("online_hit_ratio" in target["expr"] for target in panel["targets"])]
    assert panels
    for panel in panels:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert {"color": "green", "value": 0.95} in steps, panel["title"]


def test_no_panel_breaks_down_by_ticker() -> None:
    for panel in dashboard_panels(_dashboard()):
        for target in panel["targets"]:
            assert "ticker" not in target["expr"], (panel["title"], target["expr"])


def test_the_dashboard_reads_recorded_series_that_the_rules_define() -> None:
    used = {name for panel in dashboard_panels(_dashboard()) for target in panel["targets"]
            for name in metric_names(target["expr"]) if ":" in name}
    assert used <= recorded_names(), used - recorded_names()
