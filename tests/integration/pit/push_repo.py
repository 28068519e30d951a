"""A throwaway Feast repo for offline writes: a PushSource over a table on our store.

Intraday-shaped bars (ticker, event_timestamp, created_timestamp, two features) in their own
table of a throwaway database, Redis online (database 15 on the test server), built in a tmp
dir: the product's feature_repo/ is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from feast import Entity, FeatureStore, FeatureView, Field, PushSource, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.types import Float64, Int64

from stockfeatures.config import feast_redis_connection
from stockfeatures.offline.pit_store import STORE_TYPE

BARS_TABLE = "h1_push_bars"
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
    name="h1_bars_source",
    table=BARS_TABLE,
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)
bars_push = PushSource(name="h1_bars_push", batch_source=bars_source)
bars_view = FeatureView(
    name="h1_bars",
    entities=[ticker],
    ttl=timedelta(hours=1),
    schema=[Field(name="ret_5m", dtype=Float64), Field(name="volume", dtype=Int64)],
    source=bars_push,
)
# A query source: nothing to append to, so offline writes must refuse it.
query_view = FeatureView(
    name="h1_bars_by_query",
    entities=[ticker],
    ttl=timedelta(hours=1),
    schema=[Field(name="ret_5m", dtype=Float64)],
    source=PostgreSQLSource(
        name="h1_bars_query_source",
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
    pg = urlparse(dsn)
    (root / "feature_store.yaml").write_text(f"""project: h1_push_test
provider: local
registry:
  path: {root / "registry.db"}
  cache_ttl_seconds: 0
online_store:
  type: redis
  connection_string: "{feast_redis_connection(redis_url)}"
offline_store:
  type: {STORE_TYPE}
  host: {pg.hostname or "127.0.0.1"}
  port: {pg.port or 5432}
  database: {pg.path.lstrip("/")}
  user: {pg.username or "postgres"}
  password: "{pg.password or ""}"
  sslmode: disable
entity_key_serialization_version: 3
""")
    store = FeatureStore(repo_path=str(root))
    store.apply(DEFINITIONS)
    return PushRepo(dsn=dsn, store=store)
