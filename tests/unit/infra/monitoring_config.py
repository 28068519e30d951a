"""Read the monitoring files of infra/ the way Prometheus and Grafana do, for the infra tests.

Why a hand-written PromQL scanner: Prometheus 2.42 (Debian bookworm) has no parse endpoint in
its HTTP API, and no Python PromQL parser is a dependency. The scanner only has to answer one
question - which metric names does an expression select? - and that needs just PromQL's
lexical rules: strings, label matchers, ranges and grouping clauses hold no metric names, an
identifier followed by "(" is a function or aggregation, the rest are selectors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
PROMETHEUS_DIR = REPO / "infra" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
GRAFANA_DIR = REPO / "infra" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCE_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = GRAFANA_DIR / "provisioning" / "dashboards" / "stockfeatures.yml"
OPERATIONS_DOC = REPO / "docs" / "operations.md"

# Grafana replaces these before a query reaches Prometheus; any valid duration will do here.
GRAFANA_MACROS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}

_PROMQL_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan",
})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBER_OR_DURATION = re.compile(r"(?<![A-Za-z0-9_:])\d[\w.+-]*")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


@dataclass(frozen=True)
class Expression:
    """One PromQL expression and where it is written, for readable failure messages."""

    where: str
    promql: str


def with_grafana_macros_resolved(promql: str) -> str:
    for macro, value in GRAFANA_MACROS.items():
        promql = promql.replace(macro, value)
    return promql


def metric_names(promql: str) -> set[str]:
    """The metric names an expression selects (identifiers not used as a function call)."""
    text = _STRING.sub('""', with_grafana_macros_resolved(promql))
    text = _LABEL_MATCHERS.sub("{}", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER_OR_DURATION.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        following = text[match.end():].lstrip()
        if name.lower() in _PROMQL_KEYWORDS or following.startswith("("):
            continue
        names.add(name)
    return names


def load_rule_groups(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["groups"]


def rules(kind: str) -> list[dict]:
    """Every rule of kind 'record' or 'alert' across infra/prometheus/rules/."""
    return [rule for path in RULE_FILES for group in load_rule_groups(path)
            for rule in group["rules"] if kind in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules("record")}


def rule_expressions() -> list[Expression]:
    found = []
    for path in RULE_FILES:
        for group in load_rule_groups(path):
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                found.append(Expression(f"{path.name}: {name}", rule["expr"]))
    return found


def load_dashboard(path: Path) -> dict:
    return json.loads(path.read_text())


def dashboard_panels(dashboard: dict) -> list[dict]:
    """Panels at any depth (collapsed rows nest their panels), rows themselves excluded."""
    found = []
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def dashboard_expressions() -> list[Expression]:
    found = []
    for path in DASHBOARD_FILES:
        for panel in dashboard_panels(load_dashboard(path)):
            for target in panel.get("targets", []):
                found.append(Expression(f"{path.name}: panel {panel['title']!r} {target['refId']}",
                                        target["expr"]))
    return found


def all_expressions() -> list[Expression]:
    return rule_expressions() + dashboard_expressions()


_SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def exported_sample_names(exposition: str) -> set[str]:
    """Series names a /metrics page makes queryable, including declared but unused families.

    A labelled counter that has not been incremented yet has a TYPE line and no samples, and
    is still a name the code exports; the suffixes follow the exposition format per type.
    """
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in _SAMPLE_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names
