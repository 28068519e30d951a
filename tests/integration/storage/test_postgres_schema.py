"""Migrations and transactional guarantees specific to the PostgreSQL store."""

from __future__ import annotations

import contextlib
import logging

import psycopg
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.storage import PostgresWarehouse, WriteFailed, migrate
from stockfeatures.storage.migrate import NO_TIMESCALEDB, default_sql_dir

pytestmark = pytest.mark.integration


def _columns(dsn: str, table: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()


def test_migrate_builds_plain_tables_when_timescaledb_is_missing(database_factory, caplog):
    dsn = database_factory()
    caplog.set_level(logging.INFO, logger="stockfeatures.storage.migrate")

    report = migrate(dsn)

    assert report.timescaledb is False
    assert NO_TIMESCALEDB in caplog.text
    assert report.applied == tuple(sorted(report.applied))
    assert "0004_quarantine.sql" in report.applied
    assert "R__timescaledb.sql" not in report.applied  # repeatable: runs every time, never recorded
    assert report.feature_columns_added == FEATURE_NAMES
    for table in ("prices", "corporate_actions", "features_daily", "quarantine", "schema_migrations"):
        assert _columns(dsn, table), f"{table} was not created"


def test_second_migrate_is_a_noop(database_factory):
    dsn = database_factory()
    first = migrate(dsn)

    second = migrate(dsn)

    assert first.changed
    assert not second.changed
    assert second.already_applied == first.applied
    with psycopg.connect(dsn) as conn:
        recorded = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert recorded == list(first.applied)


def test_feature_columns_are_exactly_the_feature_specs(migrated_dsn):
    columns = _columns(migrated_dsn, "features_daily")

    assert [name for name, _ in columns[3:]] == list(FEATURE_NAMES)
    assert {kind for _, kind in columns[3:]} == {"double precision"}
    assert [name for name, _ in columns[:3]] == ["ticker", "event_timestamp", "created_timestamp"]


def _index_definitions(dsn: str, table: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
        ]


def test_features_daily_has_the_point_in_time_indexes(migrated_dsn):
    definitions = _index_definitions(migrated_dsn, "features_daily")

    # Per-ticker "latest at or before T" reads scan the primary key backward; a second index
    # on the same columns in DESC order only cost writes (0006_drop_features_daily_latest_idx).
    assert any(
        "UNIQUE" in d and d.endswith("(ticker, event_timestamp, created_timestamp)")
        for d in definitions
    )
    assert any(d.endswith("(event_timestamp)") for d in definitions)
    assert not any("DESC" in d for d in definitions)
    assert len(definitions) == 2


def test_latest_index_is_dropped_from_an_existing_database_and_rows_stay(
    database_factory, tmp_path, make_features
):
    dsn = database_factory()
    before = tmp_path / "sql"
    before.mkdir()
    for path in default_sql_dir().glob("*.sql"):
        if not path.name.startswith("0006"):
            (before / path.name).write_text(path.read_text())
    migrate(dsn, sql_dir=before)
    assert any("DESC" in d for d in _index_definitions(dsn, "features_daily"))
    features = make_features()
    with PostgresWarehouse(dsn) as warehouse:
        warehouse.write_features(features)

    report = migrate(dsn)

    assert report.applied == ("0006_drop_features_daily_latest_idx.sql",)
    assert not any("DESC" in d for d in _index_definitions(dsn, "features_daily"))
    with PostgresWarehouse(dsn) as warehouse:
        assert len(warehouse.read_features()) == len(features)


@contextlib.contextmanager
def refusing(dsn: str, table: str, ticker: str):
    """Make PostgreSQL itself refuse one ticker's rows of `table` mid-write (after other rows)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"""
            CREATE FUNCTION refuse_ticker() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.ticker = '{ticker}' THEN RAISE EXCEPTION '{ticker} refused by test trigger'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_ticker BEFORE INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION refuse_ticker();
            """
        )
    yield dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER refuse_ticker ON {table}; DROP FUNCTION refuse_ticker()")


@pytest.fixture
def rejecting_trigger(empty_dsn):
    """BBB's bars refused during an INSERT ... SELECT."""
    with refusing(empty_dsn, "prices", "BBB") as dsn:
        yield dsn


def test_database_failure_mid_batch_leaves_no_partial_rows(rejecting_trigger, make_bars):
    with PostgresWarehouse(rejecting_trigger) as warehouse:
        with pytest.raises(WriteFailed, match="rolled back"):
            warehouse.write_bars(make_bars(tickers=("AAA", "BBB", "CCC")))

        assert warehouse.read_bars().empty
        assert warehouse.write_bars(make_bars(tickers=("AAA",))).inserted == 4


@pytest.fixture
def features_refusing_trigger(empty_dsn):
    """T200's feature rows refused while a straight COPY streams in."""
    with refusing(empty_dsn, "features_daily", "T200") as dsn:
        yield dsn


def test_feature_copy_refused_mid_stream_leaves_no_partial_rows(features_refusing_trigger, make_features):
    # 300 tickers x 250 sessions: more than one 65,536-row COPY batch, the refused ticker
    # in the second, so rows of the first batch had already been sent when it failed.
    tickers = tuple(f"T{i:03d}" for i in range(300))
    features = make_features(tickers=tickers, start="2024-01-02", end="2024-12-31")
    assert len(features) > 65_536
    with PostgresWarehouse(features_refusing_trigger) as warehouse:
        with pytest.raises(WriteFailed, match="T200 refused"):
            warehouse.write_features(features)

        assert warehouse.read_features().empty
        kept = features[features["ticker"] != "T200"]
        assert warehouse.write_features(kept).inserted == len(kept)
