"""Builds the stores a profile asks for: the one place that knows `local` from `prod`.

Feature math, flows and serving receive a Warehouse and a FeatureStore from here and never
branch on the profile themselves (the Dagster project_fully_featured pattern). `cluster`
shares prod's PostgreSQL warehouse; only its online store differs, and that lives in its
feature_store.cluster.yaml (and in serving's Redis client, serving/factory.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stockfeatures.config import Settings, load_settings

if TYPE_CHECKING:
    from feast import FeatureStore
    from feast.data_source import DataSource

    from stockfeatures.storage.warehouse import Warehouse

FEATURES_TABLE = "features_daily"
FEATURES_SOURCE = "features_daily"
INTRADAY_FEATURES_TABLE = "features_intraday"
INTRADAY_FEATURES_SOURCE = "features_intraday"


def _bitemporal_source(settings: Settings | None, name: str, table: str, description: str) -> DataSource:
    """A Feast batch source over one bitemporal table: a parquet file in `local`, the
    PostgreSQL table otherwise."""
    settings = settings or load_settings()
    common = dict(name=name, timestamp_field="event_timestamp",
                  created_timestamp_column="created_timestamp", description=description)
    if settings.profile == "local":
        from feast import FileSource

        return FileSource(path=str(settings.local_dir / f"{table}.parquet"), **common)
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
        PostgreSQLSource,
    )

    return PostgreSQLSource(table=table, **common)


def features_daily_source(settings: Settings | None = None) -> DataSource:
    """The Feast batch source over features_daily for the active profile."""
    return _bitemporal_source(
        settings, FEATURES_SOURCE, FEATURES_TABLE,
        "Daily features per ticker, bitemporal: one row per version of a session's values")


def features_intraday_source(settings: Settings | None = None) -> DataSource:
    """The batch source behind the intraday PushSource: where pushed rows land offline and
    what point-in-time retrieval reads."""
    return _bitemporal_source(
        settings, INTRADAY_FEATURES_SOURCE, INTRADAY_FEATURES_TABLE,
        "Intraday features per ticker and 5-minute bar (stamped at the bar's end), bitemporal")


def open_warehouse(settings: Settings | None = None) -> Warehouse:
    """The offline warehouse (prices, corporate actions, features, quarantine)."""
    settings = settings or load_settings()
    if settings.profile == "local":
        from stockfeatures.storage.parquet_warehouse import ParquetWarehouse

        return ParquetWarehouse(settings.local_dir)
    from stockfeatures.storage.postgres_warehouse import PostgresWarehouse

    return PostgresWarehouse(settings.pg_dsn)


def open_feature_store(settings: Settings | None = None) -> FeatureStore:
    """A Feast FeatureStore over feature_repo/ with the profile's yaml."""
    from feast import FeatureStore

    settings = settings or load_settings()
    settings.export_feast_environment()
    settings.local_dir.mkdir(parents=True, exist_ok=True)
    return FeatureStore(repo_path=str(settings.feature_repo_dir), fs_yaml_file=settings.feature_store_yaml)
