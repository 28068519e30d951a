"""The intraday tables in both offline stores: 5-minute rules, versions, retention."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from stockfeatures.storage import InvalidFrame, ParquetWarehouse, PostgresWarehouse, migrate
from stockfeatures.storage.tables import intraday_features_schema
from tests.intraday_frames import HALF_DAY, make_intraday_bars, make_intraday_features

pytestmark = pytest.mark.integration

INTRADAY_TABLES = ("prices_intraday", "features_intraday", "quarantine")


@pytest.fixture
def store(request, tmp_path, migrated_dsn):
    if request.param == "postgres":
        with psycopg.connect(migrated_dsn, autocommit=True) as conn:
            conn.execute(f"TRUNCATE {', '.join(INTRADAY_TABLES)} RESTART IDENTITY")
        warehouse = PostgresWarehouse(migrated_dsn)
    else:
        warehouse = ParquetWarehouse(tmp_path / "offline")
        warehouse.migrate()
    yield warehouse
    warehouse.close()


both = pytest.mark.parametrize("store", ["postgres", "parquet"], indirect=True)


def test_migration_adds_one_column_per_intraday_feature(migrated_dsn):
    with psycopg.connect(migrated_dsn) as conn:
        columns = [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'features_intraday' "
            "ORDER BY ordinal_position")]
    assert tuple(columns) == intraday_features_schema().columns
    assert migrate(migrated_dsn).intraday_columns_added == ()


@both
def test_bars_round_trip_and_rewrites_add_nothing(store):
    bars = make_intraday_bars()
    assert store.write_intraday_bars(bars).inserted == len(bars)
    again = store.write_intraday_bars(bars.assign(created_timestamp=bars["created_timestamp"]
                                                  + pd.Timedelta(minutes=3)))
    assert (again.inserted, again.unchanged) == (0, len(bars))
    stored = store.read_intraday_bars().sort_values(["ticker", "event_timestamp"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, bars.sort_values(["ticker", "event_timestamp"])
                                  .reset_index(drop=True), check_dtype=False)


@both
def test_a_bar_not_stamped_at_its_end_is_refused_whole(store):
    bars = make_intraday_bars()
    bars.loc[3, "event_timestamp"] += pd.Timedelta(minutes=2)
    with pytest.raises(InvalidFrame, match="end of a 5-minute bar.*rows 3"):
        store.write_intraday_bars(bars)
    assert store.read_intraday_bars().empty


@both
def test_a_bar_after_an_early_close_is_refused(store):
    bars = make_intraday_bars(session=HALF_DAY, count=1)
    close = pd.Timestamp(f"{HALF_DAY} 13:00", tz="America/New_York").tz_convert("UTC")
    assert store.write_intraday_bars(bars.assign(event_timestamp=close, created_timestamp=close)).inserted == 2
    late = close + pd.Timedelta(minutes=5)
    with pytest.raises(InvalidFrame, match="5-minute bar"):
        store.write_intraday_bars(bars.assign(event_timestamp=late, created_timestamp=late))


@both
def test_unknown_features_are_exactly_what_a_write_would_add(store):
    features = make_intraday_features()
    assert len(store.unknown_intraday_features(features)) == len(features)
    store.write_intraday_features(features.iloc[:2])
    later = features.assign(created_timestamp=features["created_timestamp"] + pd.Timedelta(seconds=30))
    unknown = store.unknown_intraday_features(later)
    assert len(unknown) == len(features) - 2
    assert store.write_intraday_features(later).inserted == len(unknown)
    assert store.unknown_intraday_features(later).empty


@both
def test_a_revised_feature_row_is_a_new_version_hidden_from_earlier_reads(store):
    features = make_intraday_features(tickers=("AAA",), count=1)
    store.write_intraday_features(features)
    revised = features.assign(created_timestamp=features["created_timestamp"] + pd.Timedelta(minutes=1),
                              ret_5m=0.5)
    assert len(store.unknown_intraday_features(revised)) == 1
    store.write_intraday_features(revised)
    before = store.read_intraday_features(as_of=features["created_timestamp"].iloc[0])
    after = store.read_intraday_features()
    assert before["ret_5m"].iloc[0] == features["ret_5m"].iloc[0]
    assert after["ret_5m"].iloc[0] == 0.5


@both
def test_retention_deletes_only_bars_older_than_the_cutoff(store):
    old = make_intraday_bars(session="2025-03-03", count=2)
    recent = make_intraday_bars(count=2)
    store.write_intraday_bars(pd.concat([old, recent], ignore_index=True))
    store.write_intraday_features(make_intraday_features(session="2025-03-03", count=2))
    assert store.delete_intraday_bars_before(pd.Timestamp("2025-06-01", tz="UTC")) == len(old)
    assert store.delete_intraday_bars_before(pd.Timestamp("2025-06-01", tz="UTC")) == 0
    assert len(store.read_intraday_bars()) == len(recent)
    assert len(store.read_intraday_features()) == 4  # features are not raw bars: kept
    with pytest.raises(ValueError, match="timezone-aware"):
        store.delete_intraday_bars_before(pd.Timestamp("2025-06-01"))


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_push_sized_batch_finds_the_same_unknown_rows_as_the_copy_path(store, monkeypatch):
    """Batches up to SMALL_BATCH_ROWS are checked in one statement over arrays; the answer
    must be the COPY path's, row for row, including NaN (stored as NULL) and revisions."""
    from stockfeatures.storage import postgres_warehouse

    stored = make_intraday_features(tickers=("AAA", "BBB", "CCC"), count=4)
    stored.loc[[0, 5], "ret_30m"] = float("nan")
    store.write_intraday_features(stored)
    later = stored["created_timestamp"] + pd.Timedelta(minutes=2)
    incoming = pd.concat([
        stored.assign(created_timestamp=later),                          # same values again
        make_intraday_features(tickers=("AAA", "DDD"), count=6).iloc[4:],  # new bars / ticker
    ], ignore_index=True)
    incoming.loc[1, "ret_5m"] = 0.25                                    # a revised value
    incoming.loc[0, "ret_30m"] = 0.5                                    # NULL -> a value
    incoming.loc[2, "vwap_gap"] = float("nan")                          # a value -> NULL
    schema = intraday_features_schema()

    small = store._unknown(incoming, schema)
    monkeypatch.setattr(postgres_warehouse, "SMALL_BATCH_ROWS", 0)
    copied = store._unknown(incoming, schema)

    assert len(small) == 3 + 2 + 6  # three revised rows, AAA's two new bars, DDD's six
    pd.testing.assert_frame_equal(small, copied)
    assert set(small.loc[small["ticker"] == "DDD", "event_timestamp"]) == set(
        incoming.loc[incoming["ticker"] == "DDD", "event_timestamp"])
