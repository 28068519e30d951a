"""A small Feast repository over a throwaway PostgreSQL database, built in a tmp dir.

The same registry is served to two FeatureStores that differ only in `offline_store.type`:
Feast's stock PostgreSQL store and ours, so every answer can be compared side by side.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import psycopg
from feast import (
    Entity,
    FeatureService,
    FeatureStore,
    FeatureView,
    Field,
    RequestSource,
    ValueType,
)
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

from stockfeatures.features.spec import RETURNS_VIEW, RISK_VIEW, features_in_view
from stockfeatures.offline.pit_store import STORE_TYPE

RETURNS = tuple(spec.name for spec in features_in_view(RETURNS_VIEW)[:4])
RISK = tuple(spec.name for spec in features_in_view(RISK_VIEW)[:3])
DAILY_FEATURES = RETURNS + RISK
QUOTE_FEATURE = features_in_view(RISK_VIEW)[3].name
RETURNS_TTL = timedelta(days=3)
QUOTES_TTL = timedelta(days=1)

DAILY_TABLE = "pit_features_daily"
QUOTES_TABLE = "pit_quotes"
VENUE_TABLE = "pit_venue_quotes"
UNINDEXED_TABLE = "pit_unindexed_quotes"
MARKET_TABLE = "pit_market"

DDL = f"""
CREATE TABLE {DAILY_TABLE} (
    ticker text NOT NULL,
    event_timestamp timestamptz NOT NULL,
    created_timestamp timestamptz NOT NULL,
    {", ".join(f'"{name}" double precision' for name in DAILY_FEATURES)},
    PRIMARY KEY (ticker, event_timestamp, created_timestamp)
);
CREATE TABLE {QUOTES_TABLE} (
    ticker text NOT NULL,
    event_timestamp timestamptz NOT NULL,
    "{QUOTE_FEATURE}" double precision,
    PRIMARY KEY (ticker, event_timestamp)
);
CREATE TABLE {VENUE_TABLE} (
    ticker text NOT NULL,
    venue text NOT NULL,
    event_timestamp timestamptz NOT NULL,
    venue_price double precision,
    PRIMARY KEY (ticker, venue, event_timestamp)
);
CREATE TABLE {UNINDEXED_TABLE} (ticker text, event_timestamp timestamptz, "{QUOTE_FEATURE}" double precision);
CREATE TABLE {MARKET_TABLE} (
    event_timestamp timestamptz PRIMARY KEY,
    market_return double precision
);
"""

ticker = Entity(name="ticker", join_keys=["ticker"], value_type=ValueType.STRING)
venue = Entity(name="venue", join_keys=["venue"], value_type=ValueType.STRING)

daily_source = PostgreSQLSource(
    name="pit_daily_source",
    table=DAILY_TABLE,
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)
returns_view = FeatureView(
    name="pit_returns",
    entities=[ticker],
    ttl=RETURNS_TTL,
    schema=[Field(name=name, dtype=Float64) for name in RETURNS],
    source=daily_source,
)
risk_view = FeatureView(
    name="pit_risk",
    entities=[ticker],
    ttl=timedelta(0),
    schema=[Field(name=name, dtype=Float64) for name in RISK],
    source=daily_source,
)
quotes_view = FeatureView(
    name="pit_quotes",
    entities=[ticker],
    ttl=QUOTES_TTL,
    schema=[Field(name=QUOTE_FEATURE, dtype=Float64)],
    source=PostgreSQLSource(
        name="pit_quotes_source", table=QUOTES_TABLE, timestamp_field="event_timestamp"
    ),
)
# A query source with a field mapping: no index of its own, columns renamed on the way.
mapped_view = FeatureView(
    name="pit_mapped",
    entities=[ticker],
    ttl=timedelta(0),
    schema=[Field(name=RETURNS[0], dtype=Float64)],
    source=PostgreSQLSource(
        name="pit_mapped_source",
        query=f'SELECT ticker, event_timestamp, created_timestamp, "{RETURNS[0]}" AS raw_value '
        f"FROM {DAILY_TABLE}",
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
        field_mapping={"raw_value": RETURNS[0]},
    ),
)
venue_view = FeatureView(
    name="pit_venue",
    entities=[ticker, venue],
    ttl=timedelta(0),
    schema=[Field(name="venue_price", dtype=Float64)],
    source=PostgreSQLSource(
        name="pit_venue_source", table=VENUE_TABLE, timestamp_field="event_timestamp"
    ),
)
unindexed_view = FeatureView(
    name="pit_unindexed",
    entities=[ticker],
    ttl=timedelta(0),
    schema=[Field(name=QUOTE_FEATURE, dtype=Float64)],
    source=PostgreSQLSource(
        name="pit_unindexed_source", table=UNINDEXED_TABLE, timestamp_field="event_timestamp"
    ),
)
# No entity: one market-wide value per time (Feast joins it on time alone).
market_view = FeatureView(
    name="pit_market",
    entities=[],
    ttl=timedelta(days=2),
    schema=[Field(name="market_return", dtype=Float64)],
    source=PostgreSQLSource(
        name="pit_market_source", table=MARKET_TABLE, timestamp_field="event_timestamp"
    ),
)
scale = RequestSource(name="pit_scale", schema=[Field(name="scale", dtype=Float64)])


@on_demand_feature_view(
    sources=[returns_view, scale],
    schema=[Field(name="scaled_first_return", dtype=Float64)],
    mode="pandas",
)
def scaled_returns(inputs: pd.DataFrame, feature: str = RETURNS[0]) -> pd.DataFrame:
    # The feature name is a default argument: Feast runs the UDF without this module's globals.
    return pd.DataFrame({"scaled_first_return": inputs[feature] * inputs["scale"]})


# Projection: served under another name and joined on the frame's `symbol` column.
symbol_service = FeatureService(
    name="pit_by_symbol",
    features=[risk_view.with_name("risk_by_symbol").with_join_key_map({"ticker": "symbol"})],
)
both_views_service = FeatureService(name="pit_both", features=[returns_view, risk_view])

DEFINITIONS = [
    ticker, venue, returns_view, risk_view, quotes_view, mapped_view, venue_view, unindexed_view,
    market_view, scaled_returns, symbol_service, both_views_service,
]


def repo_yaml(registry: Path, online: str, offline_type: str, dsn: str, extra: str = "",
              project: str = "pit_test") -> str:
    """feature_store.yaml of a throwaway test repo on `dsn`; `online` is the online_store
    block's body (e.g. "type: sqlite\n  path: ...")."""
    pg = urlparse(dsn)
    return f"""project: {project}
provider: local
registry:
  path: {registry}
  cache_ttl_seconds: 0
online_store:
  {online}
offline_store:
  type: {offline_type}
  host: {pg.hostname or "127.0.0.1"}
  port: {pg.port or 5432}
  database: {pg.path.lstrip("/")}
  user: {pg.username or "postgres"}
  password: "{pg.password or ""}"
  sslmode: disable
{extra}entity_key_serialization_version: 3
"""


@dataclass
class PitRepo:
    dsn: str
    stock: FeatureStore
    fast: FeatureStore
    """The fast store on its lateral plan (index lookups)."""
    merge: FeatureStore
    """The fast store on its merge plan (source rows streamed once, merged in numpy)."""

    def replace_rows(self, table: str, rows: pd.DataFrame) -> None:
        """Empty the table and COPY the rows in (test setup, not product behaviour)."""
        with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(f"TRUNCATE {table}")
            if len(rows):
                buffer = io.StringIO()
                rows.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f%z")
                columns = ", ".join(f'"{c}"' for c in rows.columns)
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(buffer.getvalue())


def build_repo(root: Path, dsn: str) -> PitRepo:
    with psycopg.connect(dsn) as conn:
        conn.execute(DDL)
    stores = {}
    # The fast store splits even tiny frames over up to 3 sessions, so the property test
    # covers the one-session and the several-session paths (1-row frames get one session).
    split_tiny_frames = "  parallel_sessions: 3\n  min_rows_per_session: 2\n"
    for label, offline_type, extra in (
        ("stock", "postgres", ""),
        ("fast", STORE_TYPE, split_tiny_frames + "  asof_method: lateral\n"),
        ("merge", STORE_TYPE, split_tiny_frames + "  asof_method: merge\n"),
    ):
        repo_dir = root / label
        repo_dir.mkdir(parents=True)
        (repo_dir / "feature_store.yaml").write_text(
            repo_yaml(root / "registry.db", f"type: sqlite\n  path: {repo_dir / 'online.db'}", offline_type, dsn, extra)
        )
        # The yaml by path: FEAST_FS_YAML_FILE_PATH, which a profile stack exports for the
        # test session, would otherwise point this store at that stack's yaml.
        stores[label] = FeatureStore(repo_path=str(repo_dir), fs_yaml_file=repo_dir / "feature_store.yaml")
    stores["fast"].apply(DEFINITIONS)
    return PitRepo(dsn=dsn, stock=stores["stock"], fast=stores["fast"], merge=stores["merge"])
