"""A throwaway Feast repo for offline writes: a PushSource over a table on our store.

Intraday-shaped bars (ticker, event_timestamp, created_timestamp, two features) in their own
table of a throwaway database, Redis online (database 15 on the test server), built in a tmp
dir: the product's feature_repo/ is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
from feast import Entity, FeatureStore, FeatureView, Field, PushSource, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.types import Float64, Int64

from stockfeatures.config import feast_redis_connection
from stockfeatures.offline.pit_store import STORE_TYPE
from tests.integration.pit.feast_repo import repo_yaml

BARS_TABLE = "push_bars"
BAR_FEATURES = ("ret_5m", "volume")
DDL = f"""
CREATE TABLE {BARS_TABLE} (
    created_timestamp timestamptz NOT NULL,
    ticker text NOT NULL,
    event_timestamp timestamptz NOT NULL,
    ret_5m double precision,
    volume bigint
);
CREATE INDEX ON {BARS_TABLE} (ticker, event_timestamp);
"""

ticker = Entity(name="ticker", join_keys=["ticker"], value_type=ValueType.STRING)
bars_source = PostgreSQLSource(
    name="push_bars_source",
    table=BARS_TABLE,
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)
bars_push = PushSource(name="push_bars_push", batch_source=bars_source)
bars_view = FeatureView(
    name="push_bars",
    entities=[ticker],
    ttl=timedelta(hours=1),
    schema=[Field(name="ret_5m", dtype=Float64), Field(name="volume", dtype=Int64)],
    source=bars_push,
)
# A query source: nothing to append to, so offline writes must refuse it.
query_view = FeatureView(
    name="push_bars_by_query",
    entities=[ticker],
    ttl=timedelta(hours=1),
    schema=[Field(name="ret_5m", dtype=Float64)],
    source=PostgreSQLSource(
        name="push_bars_query_source",
        query=f"SELECT ticker, event_timestamp, created_timestamp, ret_5m FROM {BARS_TABLE}",
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    ),
)
DEFINITIONS = [ticker, bars_source, bars_push, bars_view, query_view]


@dataclass
class PushRepo:
    dsn: str
    store: FeatureStore

    def truncate(self) -> None:
        with psycopg.connect(self.dsn) as conn:
            conn.execute(f"TRUNCATE {BARS_TABLE}")

    def stored_rows(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(f"SELECT count(*) FROM {BARS_TABLE}").fetchone()[0]


def build_push_repo(root: Path, dsn: str, redis_url: str) -> PushRepo:
    with psycopg.connect(dsn) as conn:
        conn.execute(DDL)
    (root / "feature_store.yaml").write_text(repo_yaml(
        root / "registry.db", f'type: redis\n  connection_string: "{feast_redis_connection(redis_url)}"',
        STORE_TYPE, dsn, project="push_test"))
    store = FeatureStore(repo_path=str(root), fs_yaml_file=root / "feature_store.yaml")  # see feast_repo
    store.apply(DEFINITIONS)
    return PushRepo(dsn=dsn, store=store)
