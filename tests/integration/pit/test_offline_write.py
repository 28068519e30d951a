"""offline_write_batch on the fast store: pushed and written rows, read back point-in-time.

Stock Feast's PostgreSQL store raises NotImplementedError for these writes; ours appends
them with binary COPY. Real PostgreSQL (throwaway database) and real Redis (database 15).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
import redis
from feast.data_source import PushMode

from stockfeatures.offline.binary_columns import copy_rows_in
from stockfeatures.offline.offline_write import (
    SchemaMismatch,
    SourceNotWritable,
    target_columns,
    wire_column,
)
from stockfeatures.offline.pit_store import FastPostgreSQLOfflineStore
from tests.integration.pit.push_repo import BARS_TABLE, PushRepo, build_push_repo

pytestmark = pytest.mark.integration

BAR_END = pd.Timestamp("2024-03-05 14:35:00", tz="UTC")  # 09:35 New York: first bar's end
FIVE_MIN = pd.Timedelta(minutes=5)
SECOND = pd.Timedelta(seconds=1)
REFS = ["push_bars:ret_5m", "push_bars:volume"]


@pytest.fixture(scope="module")
def push_repo(pit_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> PushRepo:
    return build_push_repo(tmp_path_factory.mktemp("push_repo"), pit_dsn, redis_url)


@pytest.fixture
def repo(push_repo: PushRepo, redis_url: str) -> Iterator[PushRepo]:
    push_repo.truncate()
    redis.Redis.from_url(redis_url).flushdb()
    yield push_repo


def bars(rows: list[tuple[str, pd.Timestamp, pd.Timestamp, float, int]]) -> pd.DataFrame:
    """Bars in the caller's column order (ticker, event, created, ret_5m, volume)."""
    return pd.DataFrame(rows, columns=["ticker", "event_timestamp", "created_timestamp", "ret_5m", "volume"])


def as_of(repo: PushRepo, rows: list[tuple[str, pd.Timestamp]], **kwargs) -> pd.DataFrame:
    entity = pd.DataFrame({"ticker": [t for t, _ in rows], "event_timestamp": [ts for _, ts in rows]})
    return repo.store.get_historical_features(entity_df=entity, features=REFS, **kwargs).to_df()


def returns(frame: pd.DataFrame) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in frame["ret_5m"]]


def online_return(repo: PushRepo, ticker: str) -> float | None:
    response = repo.store.get_online_features(features=REFS, entity_rows=[{"ticker": ticker}])
    return response.to_dict()["ret_5m"][0]


def test_written_bars_are_read_back_point_in_time(repo):
    repo.store.write_to_offline_store(
        "push_bars", bars([("AAA", BAR_END, BAR_END, 0.01, 100), ("AAA", BAR_END + FIVE_MIN, BAR_END + FIVE_MIN, 0.02, 200)])
    )
    frame = as_of(repo, [("AAA", BAR_END - SECOND), ("AAA", BAR_END), ("AAA", BAR_END + FIVE_MIN - SECOND),
                         ("AAA", BAR_END + FIVE_MIN)], filter_by_created_timestamp=True)
    assert returns(frame) == [None, 0.01, 0.01, 0.02]
    assert frame["volume"].tolist()[1:] == [100, 100, 200]


def test_restated_bar_is_appended_and_hidden_before_it_was_known(repo):
    learned = BAR_END + pd.Timedelta(minutes=7)
    repo.store.write_to_offline_store("push_bars", bars([("AAA", BAR_END, BAR_END, 0.01, 100)]))
    repo.store.write_to_offline_store("push_bars", bars([("AAA", BAR_END, learned, 0.015, 100)]))
    assert repo.stored_rows() == 2  # the first version is kept, not updated in place
    frame = as_of(repo, [("AAA", learned - SECOND), ("AAA", learned)], filter_by_created_timestamp=True)
    assert returns(frame) == [0.01, 0.015]


def test_consecutive_writes_are_all_readable(repo):
    first = bars([("AAA", BAR_END, BAR_END, 0.01, 100), ("BBB", BAR_END, BAR_END, -0.01, 50)])
    second = bars([("AAA", BAR_END + FIVE_MIN, BAR_END + FIVE_MIN, 0.03, 300)])
    repo.store.write_to_offline_store("push_bars", first)
    repo.store.write_to_offline_store("push_bars", second)
    frame = as_of(repo, [("AAA", BAR_END), ("BBB", BAR_END), ("AAA", BAR_END + FIVE_MIN)])
    assert returns(frame) == [0.01, -0.01, 0.03]


def test_columns_are_matched_by_name_not_position(repo):
    # reorder_columns=False hands the frame to the store in the caller's order; the table's
    # order is created_timestamp, ticker, event_timestamp, ret_5m, volume.
    frame = bars([("AAA", BAR_END, BAR_END, 0.01, 100)])[["volume", "ret_5m", "event_timestamp", "ticker", "created_timestamp"]]
    repo.store.write_to_offline_store("push_bars", frame, reorder_columns=False)
    assert returns(as_of(repo, [("AAA", BAR_END)])) == [0.01]


def test_timestamps_in_any_zone_are_stored_as_the_same_utc_instant(repo):
    new_york = BAR_END.tz_convert("America/New_York")
    repo.store.write_to_offline_store("push_bars", bars([("AAA", new_york, new_york, 0.01, 100)]))
    with psycopg.connect(repo.dsn) as conn:
        stored = conn.execute(f"SELECT event_timestamp, created_timestamp FROM {BARS_TABLE}").fetchone()
    assert [pd.Timestamp(ts) for ts in stored] == [BAR_END, BAR_END]


def test_nulls_and_empty_writes_are_accepted(repo):
    # pandas makes the volume column float64 (1.0, NaN): whole floats fit a bigint column.
    repo.store.write_to_offline_store(
        "push_bars", bars([("AAA", BAR_END, BAR_END, None, 1), ("BBB", BAR_END, BAR_END, 0.02, None)])
    )
    repo.store.write_to_offline_store("push_bars", bars([]).astype({"ret_5m": float, "volume": "int64"}))
    assert repo.stored_rows() == 2
    frame = as_of(repo, [("AAA", BAR_END), ("BBB", BAR_END)])
    assert returns(frame) == [None, 0.02]
    assert [None if pd.isna(v) else int(v) for v in frame["volume"]] == [1, None]


def test_a_fractional_value_for_an_integer_column_is_refused(repo):
    with pytest.raises(SchemaMismatch, match="column 'volume' holds double.*int8"):
        repo.store.write_to_offline_store("push_bars", bars([("AAA", BAR_END, BAR_END, 0.01, 1.5)]))
    assert repo.stored_rows() == 0


def write_directly(repo: PushRepo, table: pa.Table) -> None:
    view = repo.store.get_feature_view("push_bars")
    FastPostgreSQLOfflineStore.offline_write_batch(repo.store.config, view, table, None)


def test_missing_and_extra_columns_are_refused_by_name(repo):
    table = pa.Table.from_pandas(bars([("AAA", BAR_END, BAR_END, 0.01, 100)]).drop(columns=["volume"]).assign(vwap=1.0))
    with pytest.raises(SchemaMismatch, match=r"missing_expected_columns: \['volume'\], extra_unexpected_columns: \['vwap'\]"):
        write_directly(repo, table)
    assert repo.stored_rows() == 0


def test_a_column_of_the_wrong_type_is_refused_and_nothing_is_written(repo):
    frame = bars([("AAA", BAR_END, BAR_END, 0.01, 100), ("BBB", BAR_END, BAR_END, 0.02, 100)])
    frame["ret_5m"] = ["0.01", "0.02"]
    with pytest.raises(SchemaMismatch, match=r"column 'ret_5m' holds string.*float8"):
        repo.store.write_to_offline_store("push_bars", frame)
    assert repo.stored_rows() == 0


def test_an_integer_that_does_not_fit_its_column_is_refused(repo):
    table = pa.Table.from_pandas(bars([("AAA", BAR_END, BAR_END, 0.01, 100)]).astype({"volume": "uint64"}))
    table = table.set_column(table.schema.get_field_index("volume"), "volume", pa.array([2**64 - 1], pa.uint64()))
    with pytest.raises(SchemaMismatch, match="column 'volume'"):
        write_directly(repo, table)


def test_naive_timestamps_are_refused_for_instant_columns(repo):
    frame = bars([("AAA", BAR_END.tz_localize(None), BAR_END, 0.01, 100)])
    with pytest.raises(SchemaMismatch, match="column 'event_timestamp'.*timezone-naive"):
        repo.store.write_to_offline_store("push_bars", frame)


def test_a_query_source_is_refused(repo):
    view = repo.store.get_feature_view("push_bars_by_query")
    table = pa.Table.from_pandas(bars([("AAA", BAR_END, BAR_END, 0.01, 100)]).drop(columns=["volume"]))
    with pytest.raises(SourceNotWritable, match="defined by `query`.*`table=`"):
        FastPostgreSQLOfflineStore.offline_write_batch(repo.store.config, view, table, None)


def test_push_to_offline_is_readable_point_in_time_and_not_online(repo):
    repo.store.push("push_bars_push", bars([("AAA", BAR_END, BAR_END, 0.01, 100)]), to=PushMode.OFFLINE)
    assert returns(as_of(repo, [("AAA", BAR_END - SECOND), ("AAA", BAR_END)])) == [None, 0.01]
    assert online_return(repo, "AAA") is None


def test_push_to_online_and_offline_is_readable_from_both(repo):
    pushed = bars([("AAA", BAR_END, BAR_END, 0.01, 100), ("BBB", BAR_END, BAR_END, -0.02, 40)])
    repo.store.push("push_bars_push", pushed, to=PushMode.ONLINE_AND_OFFLINE)
    assert online_return(repo, "AAA") == 0.01
    assert online_return(repo, "BBB") == -0.02
    assert returns(as_of(repo, [("AAA", BAR_END), ("BBB", BAR_END)])) == [0.01, -0.02]
    later = bars([("AAA", BAR_END + FIVE_MIN, BAR_END + FIVE_MIN, 0.03, 120)])
    repo.store.push("push_bars_push", later, to=PushMode.ONLINE_AND_OFFLINE)
    assert online_return(repo, "AAA") == 0.03
    assert returns(as_of(repo, [("AAA", BAR_END), ("AAA", BAR_END + FIVE_MIN)])) == [0.01, 0.03]


def test_every_supported_type_round_trips_through_the_binary_copy(pit_dsn):
    values = {
        "t": ("text", ["AAPL", None, 'é"x,\n\\'], pa.string()),
        "tz": ("timestamptz", [BAR_END, None, BAR_END + pd.Timedelta(microseconds=1)], pa.timestamp("us", "UTC")),
        "naive": ("timestamp", [pd.Timestamp("2024-01-02"), None, pd.Timestamp("1999-12-31 23:59:59")], pa.timestamp("us")),
        "f8": ("double precision", [1.5, None, -0.1], pa.float64()),
        "f4": ("real", [0.25, None, 3.0], pa.float32()),
        "i2": ("smallint", [1, None, -32768], pa.int16()),
        "i4": ("integer", [1, None, 2**31 - 1], pa.int32()),
        "i8": ("bigint", [1, None, -(2**63)], pa.int64()),
        "b": ("boolean", [True, None, False], pa.bool_()),
        "d": ("date", [pd.Timestamp("2024-03-05").date(), None, pd.Timestamp("1969-07-20").date()], pa.date32()),
        "j": ("jsonb", ['{"a": 1}', None, "[1, 2]"], pa.string()),
        "m": ("jsonb", [{"k": "v"}, None, {"k": "w"}], pa.struct([("k", pa.string())])),
        "raw": ("bytea", [b"\x00\x01", None, b""], pa.binary()),
    }
    table = pa.table({name: pa.array(v, type=t) for name, (_, v, t) in values.items()})
    with psycopg.connect(pit_dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE push_all_types ({})".format(
            ", ".join(f'"{name}" {pg}' for name, (pg, _, _) in values.items())))
        targets = target_columns(cur, "push_all_types")
        columns = [wire_column(t.name, table.column(t.name), t) for t in targets]
        copy_rows_in(cur, "push_all_types", [t.name for t in targets], columns, batch_rows=2)
        cur.execute("SELECT * FROM push_all_types")
        stored = cur.fetchall()
    expected = {
        **{name: v for name, (_, v, _) in values.items()},
        "tz": [ts.to_pydatetime() if ts is not None else None for ts in values["tz"][1]],
        "naive": [ts.to_pydatetime() if ts is not None else None for ts in values["naive"][1]],
        "j": [{"a": 1}, None, [1, 2]],
    }
    for i, name in enumerate(values):
        assert [row[i] for row in stored] == expected[name], name


def test_consecutive_writes_share_one_pooled_connection(repo):
    """A push writes a few rows: a new connection per write was most of its offline cost."""
    from stockfeatures.offline.connections import pool_for

    for step in range(3):
        stamp = BAR_END + step * FIVE_MIN
        repo.store.write_to_offline_store("push_bars", bars([("AAA", stamp, stamp, 0.01, 100)]))
    stats = pool_for(repo.store.config.offline_store).get_stats()
    assert stats["connections_num"] == 1
