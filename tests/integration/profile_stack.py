"""Builds a complete, isolated feature store for one profile inside a temporary folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from stockfeatures import jobs
from stockfeatures.config import Settings, load_settings
from stockfeatures.prices.sample import SampleSource
from stockfeatures.profiles import open_feature_store, open_warehouse
from stockfeatures.stages import compute, ingest, materialize
from tests.conftest import copy_repo_skeleton

TICKERS = ["AAPL", "MSFT", "NVDA", "SPY"]
START, END = date(2023, 1, 3), date(2025, 6, 30)


@dataclass
class ProfileStack:
    settings: Settings
    warehouse: object
    store: object
    latest: pd.Timestamp


def configure_profile(profile: str, root: Path, monkeypatch: pytest.MonkeyPatch,
                      pg_dsn: str | None = None, redis_url: str | None = None,
                      redis_cluster_nodes: str | None = None,
                      ray_address: str | None = None) -> tuple[Settings, object]:
    """A repo skeleton in `root` with the profile's settings (set through monkeypatch, so
    undone with it) and its migrated, empty warehouse."""
    copy_repo_skeleton(root)
    environment = {"STOCKFEATURES_REPO_DIR": str(root), "STOCKFEATURES_PROFILE": profile,
                   "STOCKFEATURES_PG_DSN": pg_dsn, "STOCKFEATURES_REDIS_URL": redis_url,
                   "STOCKFEATURES_REDIS_CLUSTER_NODES": redis_cluster_nodes,
                   "STOCKFEATURES_RAY_ADDRESS": ray_address}
    for key, value in environment.items():
        if value:
            monkeypatch.setenv(key, value)
    settings = load_settings()
    warehouse = open_warehouse(settings)
    warehouse.migrate()
    return settings, warehouse


def apply_definitions(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """feast apply for the profile; returns its FeatureStore.

    apply_definitions exports the Feast variables into os.environ; they are set through
    monkeypatch first so they are undone with it (a leaked FEAST_FS_YAML_FILE_PATH makes
    every later FeatureStore in this process read this stack's yaml)."""
    for key, value in settings.feast_environment().items():
        monkeypatch.setenv(key, value)
    jobs.apply_definitions(settings)
    return open_feature_store(settings)


def build_stack(profile: str, root: Path, monkeypatch: pytest.MonkeyPatch,
                pg_dsn: str | None = None, redis_url: str | None = None,
                redis_cluster_nodes: str | None = None,
                ray_address: str | None = None) -> ProfileStack:
    settings, warehouse = configure_profile(profile, root, monkeypatch, pg_dsn, redis_url,
                                            redis_cluster_nodes, ray_address)
    ingest.ingest(SampleSource(), warehouse, TICKERS, START, END)
    compute.compute(warehouse, settings.benchmark_ticker)
    store = apply_definitions(settings, monkeypatch)
    latest = compute.latest_event_timestamp(warehouse)
    materialize.materialize(store, latest - timedelta(days=10), latest + timedelta(seconds=1))
    return ProfileStack(settings, warehouse, store, latest)
