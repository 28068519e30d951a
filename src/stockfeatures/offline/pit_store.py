"""FastPostgreSQLOfflineStore: Feast's PostgreSQL offline store with a fast historical read.

Selected in feature_store.yaml by class path (Feast imports `<module>.<Class>Config` beside
it):

    offline_store:
      type: stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore
      host: ...  # same fields as Feast's `type: postgres`

Only get_historical_features with an entity DataFrame is replaced, and offline_write_batch
(push to the offline store, write_to_offline_store) is added: the stock store has none.
Materialization (pull_latest / pull_all), SQL entity frames and the entity-less date-range
mode are the stock implementation, inherited unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from feast.data_source import DataSource
from feast.errors import FeastEntityDFMissingColumnsError
from feast.feature_view import FeatureView
from feast.infra.offline_stores import offline_utils
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres import (
    PostgreSQLOfflineStore,
    PostgreSQLOfflineStoreConfig,
    _get_entity_df_event_timestamp_range,
)
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig
from pydantic import Field

from stockfeatures.offline import offline_write
from stockfeatures.offline.pit_sql import FeatureColumn, LateralJoin, SourceRead
from stockfeatures.offline.retrieval_job import FastPostgreSQLRetrievalJob, PitPlan

STORE_TYPE = "stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore"


class UnsupportedFeatureSource(TypeError):
    """A feature view does not read a PostgreSQLSource, so this store cannot join it."""


class FastPostgreSQLOfflineStoreConfig(PostgreSQLOfflineStoreConfig):
    """Same settings as `type: postgres`, plus how many sessions may share one lookup."""

    type: Literal["stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore"] = STORE_TYPE  # type: ignore[assignment]
    parallel_sessions: int = Field(default=2, ge=1, le=32)
    """Large entity frames are split into this many contiguous slices, each looked up by its
    own connection at the same time. PostgreSQL cannot run a query over a temporary table in
    parallel itself; separate sessions can."""
    asof_method: Literal["auto", "lateral", "merge"] = "auto"
    """How an entity frame is answered: `lateral` looks every entity row up in the source's
    (keys, time) index; `merge` reads the source rows in the frame's time range once and
    merges them with the sorted entity rows in numpy (the answer is the same); `auto` merges
    when the planner expects at most 1.5 source rows per entity row (asof_merge)."""
    min_rows_per_session: int = Field(default=50_000, ge=1)
    """A frame gets at most one session per this many rows: below it, opening another
    connection and uploading another dictionary costs more than the lookups it takes over."""


def lateral_joins(
    contexts: list[offline_utils.FeatureViewQueryContext], full_feature_names: bool
) -> tuple[LateralJoin, ...]:
    """Translate Feast's per-view query contexts into lateral joins, in Feast's column order."""
    joins = []
    for ctx in contexts:
        # entity_selections are "<source column> AS <entity frame column>" (offline_utils).
        key_pairs = tuple(
            tuple(selection.rsplit(" AS ", 1)) for selection in ctx.entity_selections
        )
        read = SourceRead(
            table=ctx.table_subquery,
            key_pairs=key_pairs,  # type: ignore[arg-type]
            timestamp_field=ctx.timestamp_field,
            created_timestamp_column=ctx.created_timestamp_column or None,
            ttl_seconds=ctx.ttl,
        )
        columns = []
        for source_column in ctx.features:
            name = ctx.field_mapping.get(source_column, source_column)
            output = f"{ctx.name}__{name}" if full_feature_names else name
            columns.append(FeatureColumn(source=source_column, output=output))
        joins.append(read.features(columns))
    return tuple(joins)


class FastPostgreSQLOfflineStore(PostgreSQLOfflineStore):
    """PostgreSQL offline store whose point-in-time join is COPY + LEFT JOIN LATERAL."""

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str | None,
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        if not isinstance(entity_df, pd.DataFrame):
            # SQL entity frames and the date-range mode stay on the stock implementation.
            return PostgreSQLOfflineStore.get_historical_features(
                config,
                feature_views,
                feature_refs,
                entity_df,
                registry,
                project,
                full_feature_names=full_feature_names,
                filter_by_created_timestamp=filter_by_created_timestamp,
                **kwargs,
            )
        if not isinstance(config.offline_store, PostgreSQLOfflineStoreConfig):
            raise TypeError(
                f"offline_store config is {type(config.offline_store).__name__}; "
                f"use `type: {STORE_TYPE}` in feature_store.yaml"
            )
        for view in feature_views:
            if not isinstance(view.batch_source, PostgreSQLSource):
                raise UnsupportedFeatureSource(
                    f"feature view {view.name!r} reads {type(view.batch_source).__name__}; "
                    "this offline store joins PostgreSQLSource views only"
                )
        schema = dict(zip(entity_df.columns, entity_df.dtypes, strict=True))
        timestamp_column = offline_utils.infer_event_timestamp_from_entity_df(schema)
        join_keys = offline_utils.get_expected_join_keys(project, feature_views, registry)
        missing = join_keys - set(schema)
        if missing:
            raise FeastEntityDFMissingColumnsError(join_keys, missing)
        time_range = _get_entity_df_event_timestamp_range(entity_df, timestamp_column, config)
        contexts = offline_utils.get_feature_view_query_context(
            feature_refs, feature_views, registry, project, time_range
        )
        plan = PitPlan(
            entity_df=entity_df,
            timestamp_column=timestamp_column,
            joins=lateral_joins(contexts, full_feature_names),
            filter_by_created_timestamp=filter_by_created_timestamp,
        )
        return FastPostgreSQLRetrievalJob(
            plan=plan,
            config=config,
            full_feature_names=full_feature_names,
            on_demand_feature_views=OnDemandFeatureView.get_requested_odfvs(
                feature_refs, project, registry
            ),
            metadata=RetrievalMetadata(
                features=feature_refs,
                keys=list(schema.keys() - {timestamp_column}),
                min_event_timestamp=time_range[0],
                max_event_timestamp=time_range[1],
            ),
        )

    @staticmethod
    def offline_write_batch(
        config: RepoConfig,
        feature_view: FeatureView,
        table: pa.Table,
        progress: Callable[[int], Any] | None,
    ) -> None:
        """Append rows to the view's PostgreSQLSource table (push and write_to_offline_store).

        Stock Feast's PostgreSQL store raises NotImplementedError here; see offline_write.
        """
        offline_write.offline_write_batch(config, feature_view, table, progress)

    def get_table_column_names_and_types_from_data_source(
        self, config: RepoConfig, data_source: DataSource
    ) -> Iterable[tuple[str, str]]:
        """The source's columns and types, read on the pooled connection (see offline_write)."""
        if isinstance(data_source, PostgreSQLSource):
            return offline_write.source_column_types(config, data_source)
        return super().get_table_column_names_and_types_from_data_source(config, data_source)
