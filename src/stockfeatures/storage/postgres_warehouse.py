"""The prod offline store: bitemporal tables in PostgreSQL (TimescaleDB when present).

Writes go in as binary COPY built in numpy (binary_rows.py: the bytes of every double, exact);
reads come out as CSV parsed by Arrow in C++ (shortest repr, PostgreSQL's default
extra_float_digits=1), so floats round-trip exactly and no per-row Python work happens on bulk
paths. A write is COPY into a temp table plus one INSERT ... SELECT (the version rules), or,
when no row of the batch has a stored version of its fact, COPY straight into the table; either
way inside one transaction, so a failure rolls the whole batch back.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from stockfeatures.storage import binary_rows, postgres_sql
from stockfeatures.storage.canonical import QUARANTINE_COLUMNS, canonical, quarantine_records
from stockfeatures.storage.errors import WriteFailed
from stockfeatures.storage.migrate import MigrationReport, migrate
from stockfeatures.storage.pg_connection import connect, open_pool
from stockfeatures.storage.query_window import query_window
from stockfeatures.storage.tables import TableSchema, features_schema
from stockfeatures.storage.validation import validated
from stockfeatures.storage.warehouse import VersionedTables, WriteResult


def _to_csv(frame: pd.DataFrame) -> bytes:
    """Small frames (quarantine): pandas' writer, which also quotes JSON payloads."""
    return frame.to_csv(index=False, header=False, na_rep="").encode()


_ARROW_TYPES = {"timestamptz": pa.timestamp("us", tz="UTC"), "date": pa.date32(),
                "text": pa.string(), "float8": pa.float64()}


def _from_csv(raw: bytes, schema: TableSchema) -> pd.DataFrame:
    """Parse COPY ... CSV HEADER output with Arrow: exact floats, and NULL (unquoted empty)
    kept apart from an empty string, so a ticker spelled "NA" stays a ticker."""
    options = pa_csv.ConvertOptions(
        column_types={c: _ARROW_TYPES[postgres_sql.sql_type(c, schema)] for c in schema.columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    table = pa_csv.read_csv(io.BytesIO(raw), convert_options=options)
    # Dates and instants straight to datetime64[ns] in Arrow: as Python date objects (its
    # default) canonical() parsed them back one by one, 0.3 s per 520,000 bars read.
    return canonical(table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True), schema)


SMALL_BATCH_ROWS = 1_000
"""Up to this many rows, _unknown sends them as arrays in one statement; above, COPY."""


def _column_arrays(rows: pd.DataFrame, schema: TableSchema) -> list[list]:
    """One Python list per column for select_new_version_keys; NaN and NaT as NULL, as the
    binary COPY stores them."""
    arrays = []
    for column in schema.columns:
        series = rows[column]
        if column in schema.timestamps or column in schema.dates:
            values = [None if pd.isna(v) else v for v in series.array.to_pydatetime()]
            if column in schema.dates:
                values = [None if v is None else v.date() for v in values]
        elif column in schema.texts:
            values = series.tolist()
        else:
            values = series.astype("float64").tolist()
            values = [None if v != v else v for v in values]
        arrays.append(values)
    return arrays


class PostgresWarehouse(VersionedTables):
    """Warehouse over a PostgreSQL DSN; open lazily, close() (or `with`) to release the pool."""

    def __init__(self, dsn: str, *, max_connections: int = 4, wait_timeout_s: float = 30.0,
                 connect_timeout_s: float | None = None):
        self.dsn = dsn
        self._max_connections = max_connections
        self._wait_timeout_s = wait_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._pool = None

    def __enter__(self) -> PostgresWarehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _connection(self):
        if self._pool is None:
            self._pool = open_pool(self.dsn, max_size=self._max_connections,
                                   timeout=self._wait_timeout_s,
                                   connect_timeout=self._connect_timeout_s)
        return self._pool.connection()

    def migrate(self) -> MigrationReport:
        return migrate(self.dsn)

    def refresh_statistics(self) -> None:
        """VACUUM (ANALYZE) features_daily, on a connection of its own (VACUUM cannot run in
        a transaction block).

        ANALYZE: after a backfill the planner still believed the table as autovacuum last
        saw it. At 10,000 tickers it estimated a 12.5 M-row read at under 1.5 M rows, so
        point-in-time retrieval's `auto` chose to stream the whole table (36 s, 3.2 GB)
        instead of looking the rows up (7 s). VACUUM: the first reads after a bulk write set
        every row's hint bits and wrote the pages back. EXPLAIN of the first point-in-time
        join after the 10,000-ticker backfill dirtied 23 k pages and wrote 20 k (about 150
        MB) inside the read. VACUUM does that once, here (about 6 s at 12.5 M rows), and
        marks the pages all-visible, so the latest-row lookups can be index-only scans."""
        with connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(features_schema().name)))

    # -- writes -----------------------------------------------------------------------------

    def _append(self, frame: pd.DataFrame, schema: TableSchema) -> WriteResult:
        rows = validated(frame, schema)
        if rows.empty:
            return WriteResult(0, len(frame))
        try:
            with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
                if binary_rows.only_new_facts(cur, rows, schema):
                    binary_rows.copy_rows(cur, schema.name, rows, schema)
                    inserted = len(rows)
                else:
                    cur.execute(postgres_sql.create_incoming(schema))
                    binary_rows.copy_rows(cur, postgres_sql.INCOMING, rows, schema)
                    cur.execute(postgres_sql.insert_new_versions(schema))
                    inserted = cur.rowcount
        except psycopg.Error as exc:
            raise WriteFailed(
                f"{schema.name}: batch of {len(rows)} rows rolled back, nothing written: {exc}"
            ) from exc
        return WriteResult(inserted, len(frame) - inserted)

    def _unknown(self, frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
        rows = validated(frame, schema)
        if rows.empty:
            return rows
        if len(rows) <= SMALL_BATCH_ROWS:
            return self._unknown_small(rows, schema)
        buffer = io.BytesIO()
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(postgres_sql.create_incoming(schema))
            binary_rows.copy_rows(cur, postgres_sql.INCOMING, rows, schema)
            with cur.copy(postgres_sql.select_new_versions(schema)) as copy:
                for block in copy:
                    buffer.write(block)
        return _from_csv(buffer.getvalue(), schema)

    def _unknown_small(self, rows: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
        """_unknown for a push-sized batch: one statement over arrays, the keys back.

        Same rule and same answer as the COPY path (a test compares them); the version key is
        unique in validated rows, so the keys pick the rows out of `rows` itself."""
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(postgres_sql.select_new_version_keys(schema), _column_arrays(rows, schema))
            found = cur.fetchall()
        key = list(schema.version_key)
        wanted = {tuple(pd.Timestamp(v).value if isinstance(v, date) else v for v in row)
                  for row in found}
        as_ints = [rows[c].array.asi8 if c in schema.timestamps or c in schema.dates
                   else rows[c].to_numpy() for c in key]
        keep = [tuple(values) in wanted for values in zip(*as_ints, strict=True)]
        return rows[keep].sort_values(key, kind="stable").reset_index(drop=True)

    def _delete_before(self, schema: TableSchema, cutoff: pd.Timestamp) -> int:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(postgres_sql.delete_before(schema), {"cutoff": cutoff.to_pydatetime()})
            return cur.rowcount

    # -- reads ------------------------------------------------------------------------------

    def _copy_out(self, query: sql.Composable, params: dict) -> bytes:
        buffer = io.BytesIO()
        with self._connection() as conn, conn.cursor() as cur, cur.copy(query, params) as copy:
            for block in copy:
                buffer.write(block)
        return buffer.getvalue()

    def _read(self, schema: TableSchema, tickers, start, end, as_of) -> pd.DataFrame:
        window = query_window(tickers, start, end, as_of)
        query, params = postgres_sql.select_known_at(schema, window)
        return _from_csv(self._copy_out(query, params), schema)

    def latest_features(
        self, tickers: Iterable[str] | None = None, as_of: datetime | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        schema = features_schema()
        window = query_window(tickers, as_of=as_of)
        chosen = None if window.tickers is None else list(window.tickers)
        query = postgres_sql.select_latest_rows(schema, chosen)
        params = {"as_of": window.as_of, "tickers": chosen}
        return _from_csv(self._copy_out(query, params), schema)

    def tickers(self) -> list[str]:
        """Every ticker with a stored bar, found with a loose index scan of the primary key
        (postgres_sql.distinct_tickers): DISTINCT read all 12.5 M bars at 10,000 tickers."""
        with self._connection() as conn:
            rows = conn.execute(postgres_sql.distinct_tickers("prices")).fetchall()
        return [row[0] for row in rows]

    def session_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and last stored session, from the event_timestamp index's two ends (a
        session's close orders sessions): min/max(session) read every bar, having no index."""
        query = ("SELECT (SELECT session FROM prices ORDER BY event_timestamp LIMIT 1), "
                 "(SELECT session FROM prices ORDER BY event_timestamp DESC LIMIT 1)")
        with self._connection() as conn:
            first, last = conn.execute(query).fetchone()
        return None if first is None else (pd.Timestamp(first), pd.Timestamp(last))

    # -- quarantine -------------------------------------------------------------------------

    def quarantine(self, stage: str, rows: pd.DataFrame, reason: str | pd.Series) -> int:
        records = quarantine_records(stage, rows, reason)
        if records.empty:
            return 0
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in QUARANTINE_COLUMNS)
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            statement = sql.SQL("COPY quarantine ({}) FROM STDIN WITH (FORMAT csv)").format(columns)
            with cur.copy(statement) as copy:
                copy.write(_to_csv(records))
        return len(records)

    def read_quarantine(self, stage: str | None = None) -> pd.DataFrame:
        query = "SELECT id, stage, ticker, event_timestamp, reason, payload, quarantined_at FROM quarantine"
        params: tuple = ()
        if stage is not None:
            query += " WHERE stage = %s"
            params = (stage,)
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(query + " ORDER BY id", params)
            names = [d.name for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=names)
        for column in ("event_timestamp", "quarantined_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
        return frame
