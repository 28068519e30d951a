"""The pieces under the store: the SQL it writes, the index check, and the wire formats."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from stockfeatures.offline.arrow_copy import fetch_arrow
from stockfeatures.offline.binary_columns import PitQueryError, copy_binary_in, fetch_fixed_columns
from stockfeatures.offline.entity_frame import EntityFrameError, encode_entities
from stockfeatures.offline.pit_sql import (
    FeatureColumn,
    SourceRead,
    build_pit_query,
    merge_shared_reads,
)
from stockfeatures.offline.retrieval_job import session_count
from stockfeatures.offline.source_index import has_pit_index
from tests.integration.pit.feast_repo import DAILY_TABLE, QUOTES_TABLE

READ = SourceRead("bars", (("ticker", "ticker"),), "event_timestamp", "created_timestamp", 0)


def test_knowledge_time_condition_appears_only_when_asked_for():
    join = READ.features([FeatureColumn("a", "a")])
    assert '"created_timestamp" <= e."_sf_entity_ts"' in build_pit_query([join], "t AS e", True)
    assert '"created_timestamp" <= e' not in build_pit_query([join], "t AS e", False)


def test_views_reading_the_same_rows_the_same_way_share_one_lateral():
    first, second = READ.features([FeatureColumn("a", "a")]), READ.features([FeatureColumn("b", "b")])
    other = SourceRead("bars", READ.key_pairs, READ.timestamp_field, READ.created_timestamp_column, 60)
    merged = merge_shared_reads([first, other.features([FeatureColumn("c", "c")]), second])
    assert [[c.output for c in j.columns] for j in merged] == [["a", "b"], ["c"]]


def test_entity_frame_without_times_is_rejected_with_the_column_named():
    frame = pd.DataFrame(
        {"ticker": ["A"], "event_timestamp": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")}
    )
    with pytest.raises(EntityFrameError, match="event_timestamp"):
        encode_entities(frame, ["ticker"], "event_timestamp", "t")


@pytest.mark.integration
def test_primary_key_counts_as_point_in_time_index_and_a_bare_table_does_not(pit_repo):
    with psycopg.connect(pit_repo.dsn) as conn, conn.cursor() as cur:
        assert has_pit_index(cur, DAILY_TABLE, READ)
        assert has_pit_index(cur, QUOTES_TABLE, READ)
        cur.execute("CREATE TEMPORARY TABLE bare (ticker text, event_timestamp timestamptz)")
        assert not has_pit_index(cur, "bare", READ)
        conn.rollback()


@pytest.mark.integration
def test_fixed_width_results_keep_nulls_nans_infinities_and_types(pit_dsn):
    query = """
        SELECT * FROM (VALUES
            (1::int8, 1.5::float8, NULL::float4, true, 7::int4, '2024-03-04 21:00:00.123456+00'::timestamptz),
            (2::int8, 'NaN'::float8, 2.5::float4, NULL::bool, NULL::int4, NULL::timestamptz),
            (3::int8, NULL::float8, '-Infinity'::float4, false, -1::int4, '2000-01-01 00:00:00+00'::timestamptz)
        ) AS v(i, d, f, b, n, t)
    """
    with psycopg.connect(pit_dsn) as conn, conn.cursor() as cur:
        table = fetch_arrow(cur, query)
    assert table.schema.types == [
        pa.int64(), pa.float64(), pa.float32(), pa.bool_(), pa.int32(), pa.timestamp("us")
    ]
    columns = table.to_pydict()
    assert columns["i"] == [1, 2, 3]
    assert columns["d"][0] == 1.5 and math.isnan(columns["d"][1]) and columns["d"][2] is None
    assert columns["f"] == [None, 2.5, -math.inf]
    assert columns["b"] == [True, None, False]
    assert columns["n"] == [7, None, -1]
    assert columns["t"] == [datetime(2024, 3, 4, 21, 0, 0, 123456), None, datetime(2000, 1, 1)]


@pytest.mark.integration
def test_text_results_take_the_csv_path_and_keep_empty_strings_apart_from_nulls(pit_dsn):
    query = "SELECT * FROM (VALUES (1, 'a,b'), (2, ''), (3, NULL), (4, 'line\nbreak')) AS v(i, s)"
    with psycopg.connect(pit_dsn) as conn, conn.cursor() as cur:
        table = fetch_arrow(cur, query)
    assert table.column("s").to_pylist() == ["a,b", "", None, "line\nbreak"]


@pytest.mark.integration
def test_binary_copy_of_entity_times_lands_on_the_same_instant(pit_dsn):
    times = np.array(["2024-03-04T21:00:00.000001", "1999-12-31T23:59:59"], dtype="datetime64[us]")
    with psycopg.connect(pit_dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE landed (r int8, t timestamptz)")
        copy_binary_in(cur, "landed", ["r", "t"], [(np.array([0, 1]), ">i8"), (times, ">i8")])
        cur.execute("SELECT t FROM landed ORDER BY r")
        landed = [row[0] for row in cur.fetchall()]
        conn.rollback()
    assert landed == [
        datetime(2024, 3, 4, 21, 0, 0, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]


def test_large_frames_are_split_across_sessions_and_small_ones_are_not():
    config = SimpleNamespace(parallel_sessions=2, min_rows_per_session=50_000)
    assert session_count(config, 625_000) == 2
    assert session_count(config, 60_000) == 1
    assert session_count(config, 0) == 1
    assert session_count(SimpleNamespace(), 625_000) == 1  # stock PostgreSQL config


@pytest.mark.integration
def test_query_failing_mid_stream_raises_a_typed_error_with_the_server_message(pit_repo):
    with psycopg.connect(pit_repo.dsn) as conn, conn.cursor() as cur:
        with pytest.raises(PitQueryError, match="division by zero"):
            fetch_fixed_columns(cur, "SELECT 1 / (i - 2) AS x FROM generate_series(1, 3) AS i", [("x", 23)])
        conn.rollback()
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
