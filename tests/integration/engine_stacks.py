"""One cluster-profile warehouse read by several Feast projects that differ only in their
batch engine (Feast's Ray engine or its local one), for comparing what each engine leaves
in the online store.

Every project has its own feature_repo copy whose yaml is the cluster profile's with another
`project:` name (and, for `local`, `batch_engine: local`). Feast's Redis keys carry the
project name, so the projects share one Redis Cluster, one registry database and one
features_daily table without writing over each other. Used by tests/integration/cluster/
and benchmarks/bench_ray_materialize.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from stockfeatures import jobs
from stockfeatures.config import load_settings
from stockfeatures.features.spec import view_names
from stockfeatures.materialize_online import online_state
from stockfeatures.prices.sample import SampleSource
from stockfeatures.profiles import open_feature_store, open_warehouse
from stockfeatures.stages import compute, ingest
from tests.conftest import copy_repo_skeleton

ENGINES = ("ray", "local")


@dataclass
class EngineProject:
    name: str
    engine: str
    store: object


@dataclass
class EngineStacks:
    warehouse: object
    tickers: list[str]
    projects: dict[str, EngineProject]
    first_event: pd.Timestamp
    latest: pd.Timestamp

    def window(self) -> tuple[datetime, datetime]:
        """The whole history: every row of features_daily is inside it."""
        return (self.first_event - pd.Timedelta(days=1)).to_pydatetime(), \
            (self.latest + pd.Timedelta(seconds=1)).to_pydatetime()

    def online(self, project: str) -> pd.DataFrame:
        """Every feature and event timestamp the project's online store holds, per ticker."""
        store = self.projects[project].store
        frames = [online_state(store, view, self.tickers).add_prefix(f"{view}:") for view in view_names()]
        return pd.concat(frames, axis=1)


def _yaml_for(text: str, project: str, engine: str) -> str:
    text = re.sub(r"(?m)^project: .*$", f"project: {project}", text, count=1)
    if engine == "local":
        text, replaced = re.subn(r"(?m)^batch_engine:\n(?:[ #].*?\n)*", "batch_engine:\n  type: local\n", text)
        if replaced != 1:
            raise AssertionError("feature_store.cluster.yaml has no batch_engine block to replace")
    elif engine != "ray":
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return text


def _set_profile_environment(monkeypatch, repo: Path, pg_dsn: str, redis_cluster_nodes: str,
                             ray_address: str):
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(repo))
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "cluster")
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", pg_dsn)
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_NODES", redis_cluster_nodes)
    monkeypatch.setenv("STOCKFEATURES_RAY_ADDRESS", ray_address)
    settings = load_settings()
    for key, value in settings.feast_environment().items():
        monkeypatch.setenv(key, value)
    return settings


def build_engine_stacks(root: Path, monkeypatch, pg_dsn: str, redis_cluster_nodes: str,
                        ray_address: str, tickers: list[str], start: date, end: date,
                        projects: dict[str, str]) -> EngineStacks:
    """Ingest and compute `tickers` once, then apply one Feast project per entry of
    `projects` (project name -> engine, "ray" or "local"). Nothing is materialized yet."""
    base = copy_repo_skeleton(root / "warehouse")
    settings = _set_profile_environment(monkeypatch, base, pg_dsn, redis_cluster_nodes, ray_address)
    warehouse = open_warehouse(settings)
    warehouse.migrate()
    ingest.ingest(SampleSource(tickers), warehouse, tickers, start, end)
    compute.compute(warehouse, settings.benchmark_ticker)
    stored = warehouse.read_features(tickers=tickers)
    built = {}
    for project, engine in projects.items():
        repo = copy_repo_skeleton(root / project)
        yaml_path = repo / "feature_repo" / "feature_store.cluster.yaml"
        yaml_path.write_text(_yaml_for(yaml_path.read_text(), project, engine))
        settings = _set_profile_environment(monkeypatch, repo, pg_dsn, redis_cluster_nodes, ray_address)
        jobs.apply_definitions(settings)
        built[project] = EngineProject(project, engine, open_feature_store(settings))
    return EngineStacks(
        warehouse=warehouse, tickers=sorted(tickers), projects=built,
        first_event=stored["event_timestamp"].min(), latest=stored["event_timestamp"].max(),
    )


def warehouse_latest(stacks: EngineStacks) -> pd.DataFrame:
    """The latest known row per ticker, in EngineStacks.online's column layout."""
    from stockfeatures.features.spec import features_in_view

    latest = stacks.warehouse.latest_features(stacks.tickers).set_index("ticker").sort_index()
    columns = {}
    for view in view_names():
        for spec in features_in_view(view):
            columns[f"{view}:{spec.name}"] = latest[spec.name].astype("float64")
        columns[f"{view}:event_timestamp"] = latest["event_timestamp"].dt.floor("s")
    return pd.DataFrame(columns)
