"""Feast reads what the warehouses write: PostgreSQLSource over features_daily (prod) and
FileSource over features_daily.parquet with the DuckDB offline store (local), point in time."""

from __future__ import annotations

from urllib.parse import urlparse

import pandas as pd
import pytest
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.repo_config import RepoConfig
from feast.types import Float64

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.storage import ParquetWarehouse

pytestmark = pytest.mark.integration


def _source_and_offline_store(warehouse):
    fields = {"timestamp_field": "event_timestamp", "created_timestamp_column": "created_timestamp"}
    if isinstance(warehouse, ParquetWarehouse):
        path = str(warehouse.path("features_daily"))
        return FileSource(name="features_daily", path=path, **fields), {"type": "duckdb"}
    dsn = urlparse(warehouse.dsn)
    offline = {
        "type": "postgres",
        "host": dsn.hostname,
        "port": dsn.port or 5432,
        "database": dsn.path.lstrip("/"),
        "db_schema": "public",
        "user": dsn.username or "postgres",
        "password": dsn.password or "",
        "sslmode": "disable",
    }
    return PostgreSQLSource(name="features_daily", table="features_daily", **fields), offline


def test_feast_point_in_time_join_sees_restatements_only_after_they_were_known(
    warehouse, make_features, tmp_path
):
    features = make_features(tickers=("AAA",))
    warehouse.write_features(features)
    last_close = features["event_timestamp"].iloc[-1]
    learned_at = last_close + pd.Timedelta(days=2)
    restated = features.iloc[[-1]].assign(created_timestamp=learned_at, ret_1d=42.0)
    warehouse.write_features(restated)

    source, offline_store = _source_and_offline_store(warehouse)
    ticker = Entity(name="ticker", join_keys=["ticker"], value_type=ValueType.STRING)
    view = FeatureView(
        name="features_daily_check",
        entities=[ticker],
        schema=[Field(name=name, dtype=Float64) for name in FEATURE_NAMES],
        source=source,
    )
    store = FeatureStore(
        config=RepoConfig(
            project="storage_check",
            provider="local",
            registry=str(tmp_path / "registry.db"),
            offline_store=offline_store,
            online_store={"type": "sqlite", "path": str(tmp_path / "online.db")},
            entity_key_serialization_version=3,
            repo_path=str(tmp_path),
        )
    )
    store.apply([ticker, view])
    entity_rows = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA"],
            "event_timestamp": [last_close + pd.Timedelta(hours=1), learned_at],
        }
    )

    joined = (
        store.get_historical_features(
            entity_df=entity_rows,
            features=["features_daily_check:ret_1d"],
            filter_by_created_timestamp=True,
        )
        .to_df()
        .sort_values("event_timestamp")
    )

    assert joined["ret_1d"].tolist() == [features["ret_1d"].iloc[-1], 42.0]
