"""The RetrievalJob that uploads the entity keys, runs the lateral query and assembles Arrow.

It subclasses the stock PostgreSQLRetrievalJob so that persist(), metadata and on-demand
feature views (applied by RetrievalJob.to_arrow on what _to_arrow_internal returns) behave
exactly as they do for the stock store.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres import (
    PostgreSQLRetrievalJob,
)
from feast.infra.offline_stores.offline_store import RetrievalMetadata
from feast.infra.utils.postgres.connection_utils import _get_conn
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig

from stockfeatures.offline.arrow_copy import copy_arrow_in, copy_arrow_out
from stockfeatures.offline.entity_frame import (
    entity_keys_table,
    output_entity_columns,
    restore_order,
    temp_table_ddl,
)
from stockfeatures.offline.pit_sql import (
    LateralJoin,
    build_pit_query,
    merge_shared_reads,
    output_names,
    quote_ident,
)
from stockfeatures.offline.source_index import indexed_reads


@dataclass(frozen=True)
class PitPlan:
    """Everything the job needs, decided when get_historical_features is called."""

    entity_df: pd.DataFrame
    timestamp_column: str
    joins: tuple[LateralJoin, ...]
    filter_by_created_timestamp: bool

    @property
    def join_keys(self) -> list[str]:
        keys = (entity for join in self.joins for _, entity in join.read.key_pairs)
        return list(dict.fromkeys(keys))


class FastPostgreSQLRetrievalJob(PostgreSQLRetrievalJob):
    def __init__(
        self,
        plan: PitPlan,
        config: RepoConfig,
        full_feature_names: bool,
        on_demand_feature_views: list[OnDemandFeatureView] | None = None,
        metadata: RetrievalMetadata | None = None,
    ):
        self._plan = plan
        self._entity_table = f"_sf_pit_entities_{uuid.uuid4().hex[:12]}"
        super().__init__(
            query=self._query_text,
            config=config,
            full_feature_names=full_feature_names,
            on_demand_feature_views=on_demand_feature_views,
            metadata=metadata,
        )

    def _query(self, joins: Sequence[LateralJoin]) -> str:
        return build_pit_query(
            merge_shared_reads(joins), self._entity_table, self._plan.filter_by_created_timestamp
        )

    @contextlib.contextmanager
    def _query_text(self) -> Iterator[str]:
        """The query as it would run, for to_sql(); the entity table exists only inside a run."""
        yield self._query(self._plan.joins)

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        plan = self._plan
        keys = entity_keys_table(plan.entity_df, plan.join_keys, plan.timestamp_column)
        with _get_conn(self.config.offline_store) as conn, conn.cursor() as cur:
            if timeout:
                cur.execute(f"SET LOCAL statement_timeout = {int(timeout) * 1000}")
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            cur.execute(temp_table_ddl(self._entity_table, keys))
            copy_arrow_in(cur, self._entity_table, keys)
            cur.execute(f"ANALYZE {quote_ident(self._entity_table)}")
            joins = indexed_reads(cur, plan.joins)
            features = copy_arrow_out(cur, self._query(joins))
        features = restore_order(features, len(plan.entity_df))
        entities = output_entity_columns(plan.entity_df)
        names = output_names(plan.joins)
        for name in names:
            entities = entities.append_column(name, features.column(name))
        return entities
