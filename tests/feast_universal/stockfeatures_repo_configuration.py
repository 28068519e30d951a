"""Feast's universal offline-store suite pointed at FastPostgreSQLOfflineStore.

This is the plugin side of Feast's "Adding a new offline store" recipe: a DataSourceCreator
for our store and the AVAILABLE_OFFLINE_STORES / AVAILABLE_ONLINE_STORES lists that
FULL_REPO_CONFIGS_MODULE names. It imports Feast's test helpers (`tests.universal...`), so it
only runs from a Feast checkout; docs/pit-retrieval.md has the commands. It is deliberately not
a test_*.py file: the project's own pytest never collects it.

Differences from Feast's PostgreSQLDataSourceCreator, and why:
- the server is the local PostgreSQL (STOCKFEATURES_PG_DSN, default 127.0.0.1:5432), not a
  testcontainers one: this machine runs no Docker engine;
- sources are `table=` sources, not `SELECT * FROM table` queries: offline writes append to a
  table, and this store refuses query sources for writes (a query has no single target).
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse, urlunparse

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from feast.data_source import DataSource
from feast.feature_logging import LoggingDestination
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres import (
    PostgreSQLOfflineStoreConfig,
)
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
    SavedDatasetPostgreSQLStorage,
)
from feast.type_map import arrow_to_pg_type
from psycopg.types.json import Jsonb
from tests.universal.feature_repos.universal.data_source_creator import DataSourceCreator

from stockfeatures.offline.pit_store import FastPostgreSQLOfflineStoreConfig

STOCK_SWITCH = "STOCKFEATURES_UNIVERSAL_STORE"
"""Set to `stock` to run the same suite against Feast's own `type: postgres` store."""
ADMIN_DSN = os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"


def load_fixture_table(dsn: str, df: pd.DataFrame, table: str) -> None:
    """Feast's df_to_postgres_table, able to insert the suite's dict (Map/Struct) columns.

    Same DDL (feast.type_map.arrow_to_pg_type: dicts become jsonb) and the same
    row-by-row INSERT, on purpose: the fixtures do not go through the write path under test.
    Feast's own helper hands psycopg raw dicts, which it cannot adapt.
    """
    schema = pa.Table.from_pandas(df, preserve_index=False).schema
    columns = ", ".join(f'"{f.name}" {arrow_to_pg_type(str(f.type))}' for f in schema)
    values = df.replace({np.nan: None}).astype(object).to_numpy().tolist()
    rows = [[Jsonb(v) if isinstance(v, dict) else v for v in row] for row in values]
    placeholders = ", ".join(["%s"] * len(schema))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE TABLE "{table}" ({columns})')
        cur.executemany(f'INSERT INTO "{table}" VALUES ({placeholders})', rows)


class FastPostgreSQLDataSourceCreator(DataSourceCreator):
    """One throwaway database per test environment on the local server, dropped at teardown."""

    def __init__(self, project_name: str, *args, **kwargs):
        super().__init__(project_name)
        self.database = f"h1_feast_universal_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        pg = urlparse(ADMIN_DSN)
        self.dsn = urlunparse(pg._replace(path=f"/{self.database}"))
        config_class = (
            PostgreSQLOfflineStoreConfig if os.environ.get(STOCK_SWITCH) == "stock"
            else FastPostgreSQLOfflineStoreConfig
        )
        self.offline_store_config = config_class(
            host=pg.hostname or "127.0.0.1",
            port=pg.port or 5432,
            database=self.database,
            db_schema="public",
            user=pg.username or "postgres",
            password=pg.password or "",
            sslmode="disable",
        )

    def create_data_source(
        self,
        df: pd.DataFrame,
        destination_name: str,
        created_timestamp_column="created_ts",
        field_mapping: dict[str, str] | None = None,
        timestamp_field: str | None = "ts",
    ) -> DataSource:
        table = f"{self.project_name}_{destination_name}"
        load_fixture_table(self.dsn, df, table)
        return PostgreSQLSource(
            name=table,
            table=table,
            timestamp_field=timestamp_field,
            created_timestamp_column=created_timestamp_column,
            field_mapping=field_mapping or {"ts_1": "ts"},
        )

    def create_offline_store_config(self) -> PostgreSQLOfflineStoreConfig:
        return self.offline_store_config

    def create_saved_dataset_destination(self) -> SavedDatasetPostgreSQLStorage:
        return SavedDatasetPostgreSQLStorage(table_ref=f"{self.project_name}_saved_{uuid.uuid4().hex[:6]}")

    def create_logged_features_destination(self) -> LoggingDestination:
        return None  # type: ignore[return-value]  # as Feast's PostgreSQL creator: no logging

    def teardown(self) -> None:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


AVAILABLE_OFFLINE_STORES = [("local", FastPostgreSQLDataSourceCreator)]
# SQLite online: the three offline-write tests never read online, and Feast's Redis default
# (localhost:6379) is a server other sessions on this machine use.
AVAILABLE_ONLINE_STORES = {"sqlite": ({"type": "sqlite"}, None)}
