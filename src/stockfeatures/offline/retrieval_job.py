"""The RetrievalJob that answers an entity frame by one of two plans and assembles Arrow.

The lateral plan uploads the entity keys and looks every row up in the source's index
(pit_sql); the merge plan streams the source rows in the frame's range once and merges them
in numpy (asof_read, asof_merge). `asof_method` in the store config picks one, or `auto`
picks by the planner's estimate of the source rows per entity row.

It subclasses the stock PostgreSQLRetrievalJob so that persist(), metadata and on-demand
feature views (applied by RetrievalJob.to_arrow on what _to_arrow_internal returns) behave
exactly as they do for the stock store.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import psycopg
import pyarrow as pa
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres import (
    PostgreSQLRetrievalJob,
)
from feast.infra.offline_stores.offline_store import RetrievalMetadata
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig

from stockfeatures.offline.arrow_copy import copy_arrow_in, fetch_arrow
from stockfeatures.offline.asof_merge import prefer_merge
from stockfeatures.offline.asof_read import (
    SourceStream,
    estimated_rows,
    fetch_part,
    mergeable,
    merged_columns,
    source_stream,
)
from stockfeatures.offline.binary_columns import copy_binary_in
from stockfeatures.offline.connections import offline_connection
from stockfeatures.offline.entity_frame import (
    EntityUpload,
    encode_entities,
    output_entity_columns,
    restore_order,
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

    @contextlib.contextmanager
    def _query_text(self) -> Iterator[str]:
        """The query for to_sql(), with plain key columns; its temp tables live only in a run."""
        yield build_pit_query(
            merge_shared_reads(self._plan.joins),
            f"{quote_ident(self._entity_table)} AS e",
            self._plan.filter_by_created_timestamp,
        )

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        plan = self._plan
        upload = encode_entities(
            plan.entity_df, plan.join_keys, plan.timestamp_column, self._entity_table
        )
        method = getattr(self.config.offline_store, "asof_method", "lateral")
        columns = self._merged(upload, method, timeout) if method != "lateral" else None
        if columns is None:
            columns = self._lateral(upload, timeout)
        entities = output_entity_columns(plan.entity_df)
        for name in output_names(plan.joins):
            entities = entities.append_column(name, columns[name])
        return entities

    def _lateral(self, upload: EntityUpload, timeout: int | None) -> pa.Table:
        parts = upload.split(session_count(self.config.offline_store, len(self._plan.entity_df)))
        if len(parts) == 1:
            features = self._run_part(parts[0], timeout)
        else:
            with ThreadPoolExecutor(len(parts), thread_name_prefix="pit") as pool:
                futures = [pool.submit(self._run_part, part, timeout) for part in parts]
                features = pa.concat_tables([future.result() for future in futures])
        return restore_order(features, len(self._plan.entity_df))

    def _merged(
        self, upload: EntityUpload, method: str, timeout: int | None
    ) -> dict[str, pa.ChunkedArray] | None:
        """The merge plan's columns; None where it cannot serve (or, for `auto`, should not)."""
        plan = self._plan
        parts = session_count(self.config.offline_store, len(plan.entity_df))
        with offline_connection(self.config.offline_store) as conn, conn.cursor() as cur:
            _begin(cur, timeout)
            _upload_dictionaries(cur, upload)
            streams = [
                source_stream(join, upload, plan.filter_by_created_timestamp)
                for join in merge_shared_reads(plan.joins)
            ]
            # A view without entity keys (Feast's entityless views) has no keys to merge on.
            if not all(stream.entity_keys and mergeable(cur, stream, upload) for stream in streams):
                return None
            if method == "auto":
                reach = sum(estimated_rows(cur, stream.query) for stream in streams)
                if not prefer_merge(len(plan.entity_df), reach):
                    return None
            if parts == 1:
                fetched = [fetch_part(cur, stream, 0, 1) for stream in streams]
        if parts > 1:
            # Each session streams every parts-th key's rows; PostgreSQL cannot split a
            # query over temporary tables across workers itself.
            with ThreadPoolExecutor(parts, thread_name_prefix="pit-merge") as pool:
                futures = [
                    [pool.submit(self._fetch_part, upload, stream, i, parts, timeout)
                     for i in range(parts)]
                    for stream in streams
                ]
                fetched = [pa.concat_tables([f.result() for f in per]) for per in futures]
        return merged_columns(streams, fetched, upload, plan.filter_by_created_timestamp)

    def _fetch_part(
        self, upload: EntityUpload, stream: SourceStream, index: int, parts: int,
        timeout: int | None,
    ) -> pa.Table:
        with offline_connection(self.config.offline_store) as conn, conn.cursor() as cur:
            _begin(cur, timeout)
            _upload_dictionaries(cur, upload)
            return fetch_part(cur, stream, index, parts)

    def _run_part(self, upload: EntityUpload, timeout: int | None) -> pa.Table:
        """Upload one slice of the entity rows and fetch its features, in one session."""
        plan = self._plan
        with offline_connection(self.config.offline_store) as conn, conn.cursor() as cur:
            _begin(cur, timeout)
            _upload(cur, upload)
            joins = indexed_reads(cur, plan.joins)
            query = build_pit_query(
                merge_shared_reads(joins),
                upload.from_clause(),
                plan.filter_by_created_timestamp,
                upload.key_sql(),
            )
            return fetch_arrow(cur, query)


def session_count(store_config: object, rows: int) -> int:
    """How many database sessions share the lookups: at most `parallel_sessions`, and at most
    one per `min_rows_per_session` rows (a plain PostgreSQL config gets one)."""
    configured = int(getattr(store_config, "parallel_sessions", 1))
    min_rows = int(getattr(store_config, "min_rows_per_session", 50_000))
    return max(1, min(configured, rows // min_rows))


def _begin(cur: psycopg.Cursor, timeout: int | None) -> None:
    """Transaction settings of both plans (SET LOCAL: a pooled session keeps none of them)."""
    if timeout:
        cur.execute(f"SET LOCAL statement_timeout = {int(timeout) * 1000}")
    cur.execute("SET LOCAL TimeZone = 'UTC'")
    # JIT compiles the lateral plan for ~0.1 s and saves nothing on index lookups.
    cur.execute("SET LOCAL jit = off")


def _upload_dictionaries(cur: psycopg.Cursor, upload: EntityUpload) -> None:
    for statement in upload.dictionary_ddl():
        cur.execute(statement)
    for i, dictionary in enumerate(upload.dictionaries):
        copy_arrow_in(cur, upload.dictionary_table(i), dictionary)
        cur.execute(f"ANALYZE {quote_ident(upload.dictionary_table(i))}")


def _upload(cur: psycopg.Cursor, upload: EntityUpload) -> None:
    cur.execute(upload.table_ddl())
    _upload_dictionaries(cur, upload)
    names, columns = upload.binary_columns()
    copy_binary_in(cur, upload.table, names, columns)
    cur.execute(f"ANALYZE {quote_ident(upload.table)}")
