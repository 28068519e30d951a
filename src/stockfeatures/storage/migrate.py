"""Apply infra/sql/*.sql in file-name order, once each, then add FeatureSpec columns.

Why not a migration framework: the schema is a handful of files plus one dynamic step (one
column per FeatureSpec), and the ordering/recording rules fit in this module. Each file runs
in its own transaction together with its schema_migrations row, under an advisory lock so two
processes migrating at once do not race. Running migrate twice is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from stockfeatures.storage.errors import MigrationFailed
from stockfeatures.storage.pg_connection import connect

log = logging.getLogger(__name__)

_LOCK_ID = 0x5F5F_F3A7  # arbitrary, constant: serializes concurrent migrate() calls
_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
NO_TIMESCALEDB = "TimescaleDB not available: plain tables with indexes"


@dataclass(frozen=True)
class MigrationReport:
    applied: tuple[str, ...]
    already_applied: tuple[str, ...]
    feature_columns_added: tuple[str, ...]
    timescaledb: bool
    intraday_columns_added: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.feature_columns_added or self.intraday_columns_added)


REPEATABLE_PREFIX = "R__"


def default_sql_dir() -> Path:
    from stockfeatures.config import load_settings

    return load_settings().repo_dir / "infra" / "sql"


def _migration_files(sql_dir: Path) -> list[Path]:
    files = sorted(sql_dir.glob("*.sql"))
    if not files:
        raise MigrationFailed(f"no *.sql migrations in {sql_dir}; set STOCKFEATURES_REPO_DIR")
    return files


def _apply_files(conn: psycopg.Connection, files: list[Path]) -> tuple[list[str], list[str]]:
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied, skipped = [], []
    for path in files:
        # R__ files (Flyway's "repeatable") run on every migrate: the TimescaleDB setup must
        # take effect when the extension is installed after the tables were created.
        repeatable = path.name.startswith(REPEATABLE_PREFIX)
        if path.name in done and not repeatable:
            skipped.append(path.name)
            continue
        try:
            with conn.transaction():
                conn.execute(path.read_text())
                if not repeatable:
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.name,))
        except psycopg.Error as exc:
            raise MigrationFailed(f"migration {path.name} failed: {exc}") from exc
        log.info("applied migration %s", path.name)
        if not repeatable:
            applied.append(path.name)
    return applied, skipped


def _feature_tables() -> dict[str, tuple[str, ...]]:
    """Each feature table and its spec's feature names (daily FeatureSpec, IntradayFeatureSpec)."""
    from stockfeatures.storage.tables import features_schema, intraday_features_schema

    return {schema.name: schema.values for schema in (features_schema(), intraday_features_schema())}


def _add_feature_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    added_all: dict[str, list[str]] = {}
    for table, names in _feature_tables().items():
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s", (table,)
            )
        }
        added = [name for name in names if name not in existing]
        with conn.transaction():
            for name in added:  # IF NOT EXISTS still guards a concurrent migrate
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} double precision")
                    .format(sql.Identifier(table), sql.Identifier(name))
                )
        for name in added:
            log.info("added feature column %s.%s", table, name)
        added_all[table] = added
    return added_all


def _has_timescaledb(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None


def migrate(dsn: str, sql_dir: Path | None = None,
            intraday_retention_days: int | None = None) -> MigrationReport:
    """Bring the database at `dsn` to the current schema; safe to call on every start.

    intraday_retention_days: how long TimescaleDB keeps raw 5-minute bars (default: the
    STOCKFEATURES_INTRADAY_RETENTION_DAYS setting); R__timescaledb.sql reads it as a
    session setting, so the SQL file holds no number of its own.
    """
    files = _migration_files(Path(sql_dir) if sql_dir else default_sql_dir())
    if intraday_retention_days is None:
        from stockfeatures.config import load_settings

        intraday_retention_days = load_settings().intraday_retention_days
    with connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute("SELECT set_config('stockfeatures.intraday_retention_days', %s, false)",
                         (str(int(intraday_retention_days)),))
            conn.execute(_BOOTSTRAP)
            applied, skipped = _apply_files(conn, files)
            added = _add_feature_columns(conn)
            timescaledb = _has_timescaledb(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    if not timescaledb:
        log.warning(NO_TIMESCALEDB)
    return MigrationReport(tuple(applied), tuple(skipped), tuple(added.get("features_daily", ())),
                           timescaledb, tuple(added.get("features_intraday", ())))
