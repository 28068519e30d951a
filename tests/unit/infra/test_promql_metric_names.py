"""The PromQL scanner finds exactly the metric names an expression selects.

The live-server test trusts this scanner to notice a renamed metric, so it is specified here
on the constructs the dashboard and the rules use.
"""

from __future__ import annotations

import pytest

from tests.unit.infra.monitoring_config import exported_sample_names, metric_names


@pytest.mark.parametrize(
    ("promql", "expected"),
    [
        ("up", {"up"}),
        ('up{job="stockfeatures"} == 0', {"up"}),
        ("rate(redis_evicted_keys_total[15m]) > 0", {"redis_evicted_keys_total"}),
        (
            'histogram_quantile(0.99, sum by (le) (rate(stockfeatures_request_seconds_bucket'
            '{route!~"/metrics|/health"}[5m])))',
            {"stockfeatures_request_seconds_bucket"},
        ),
        (
            "sum(rate(a_total[5m])) by (kind) / ignoring(kind) group_left sum(rate(b_total[5m]))",
            {"a_total", "b_total"},
        ),
        ("x > on (job, flow) y or (x unless on (job, flow) y)", {"x", "y"}),
        ("time() - max by (view) (stockfeatures_materialized_event_timestamp_seconds)",
         {"stockfeatures_materialized_event_timestamp_seconds"}),
        ("stockfeatures:online_hit_ratio:rate5m < 0.95", {"stockfeatures:online_hit_ratio:rate5m"}),
        ("rate(stockfeatures_errors_total[$__rate_interval])", {"stockfeatures_errors_total"}),
        ('topk(5, sum by (route) (rate(c_count{route="by (x) offset"}[1m] offset 5m)))', {"c_count"}),
        ("vector(1) * 1e-3", set()),
    ],
)
def test_scanner_returns_the_selected_metric_names(promql: str, expected: set[str]) -> None:
    assert metric_names(promql) == expected


def test_labels_functions_and_keywords_are_not_mistaken_for_metrics() -> None:
    names = metric_names('sum without (instance) (rate(m_total{kind="by"}[5m])) and bool on() vector(0)')
    assert names == {"m_total"}


def test_exported_names_include_declared_families_without_samples() -> None:
    exposition = (
        "# HELP demo_requests_total Requests\n"
        "# TYPE demo_requests_total counter\n"
        "# HELP demo_seconds Latency\n"
        "# TYPE demo_seconds histogram\n"
        'demo_seconds_bucket{le="+Inf"} 1.0\n'
        "demo_seconds_count 1.0\n"
        "demo_seconds_sum 0.1\n"
        "# HELP demo_cost Cost\n"
        "# TYPE demo_cost gauge\n"
        "demo_cost 3.0\n"
    )
    names = exported_sample_names(exposition)
    assert {"demo_requests_total", "demo_seconds_bucket", "demo_seconds_count", "demo_cost"} <= names
    assert "demo_requests" not in names
    assert "demo_cost_total" not in names
