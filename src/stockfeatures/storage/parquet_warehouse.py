"""The embedded (`local`) offline store: one parquet file per table under a directory.

Files: prices.parquet, corporate_actions.parquet, features_daily.parquet (a single file that
Feast's FileSource / DuckDB offline store reads with timestamp_field="event_timestamp",
created_timestamp_column="created_timestamp") and quarantine.parquet. Every write is a
read-modify-replace of the whole file, which is fine at local-profile sizes and makes a batch
atomic: the old file stays in place until the new one is complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from stockfeatures.storage.canonical import QUARANTINE_COLUMNS, canonical, quarantine_records
from stockfeatures.storage.parquet_files import exclusive, read_table, replace_table
from stockfeatures.storage.query_window import QueryWindow, query_window
from stockfeatures.storage.tables import BARS, CREATED, EVENT, TableSchema, features_schema
from stockfeatures.storage.validation import validated
from stockfeatures.storage.versions import as_known_at, new_versions
from stockfeatures.storage.warehouse import VersionedTables, WriteResult

QUARANTINE_FILE = "quarantine.parquet"


def _arrow_schema(schema: TableSchema) -> pa.Schema:
    """Explicit types so an all-null column (e.g. source) never lands as a null-typed column."""
    fields = []
    for column in schema.columns:
        if column in schema.timestamps:
            fields.append(pa.field(column, pa.timestamp("us", tz="UTC")))
        elif column in schema.dates:
            fields.append(pa.field(column, pa.date32()))
        elif column in schema.texts:
            fields.append(pa.field(column, pa.string()))
        else:
            fields.append(pa.field(column, pa.float64()))
    return pa.schema(fields)


def _for_arrow(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    out = frame.copy()
    for column in schema.dates:
        out[column] = out[column].dt.date
    return out


def _in_window(frame: pd.DataFrame, window: QueryWindow) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if window.tickers is not None:
        mask &= frame["ticker"].isin(window.tickers)
    if window.lower is not None:
        mask &= frame[EVENT] >= window.lower
    if window.upper is not None:
        mask &= frame[EVENT] < window.upper
    return frame[mask]


class ParquetWarehouse(VersionedTables):
    """Warehouse over a directory of parquet files (the `local` profile, no servers)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __enter__(self) -> ParquetWarehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release; present so both warehouses are used the same way."""

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.parquet"

    def migrate(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory

    def _stored(self, schema: TableSchema) -> pd.DataFrame:
        frame = read_table(self.path(schema.name), list(schema.columns))
        if frame is None:
            frame = pd.DataFrame(columns=list(schema.columns))
        return canonical(frame, schema)

    def _append(self, frame: pd.DataFrame, schema: TableSchema) -> WriteResult:
        rows = validated(frame, schema)
        if rows.empty:
            return WriteResult(0, len(frame))
        self.migrate()
        with exclusive(self.directory):
            stored = self._stored(schema)
            fresh = new_versions(stored, rows, schema)
            if not fresh.empty:
                combined = fresh if stored.empty else pd.concat([stored, fresh], ignore_index=True)
                replace_table(
                    self.path(schema.name), _for_arrow(combined, schema), _arrow_schema(schema)
                )
        return WriteResult(len(fresh), len(frame) - len(fresh))

    def _unknown(self, frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
        rows = validated(frame, schema)
        if rows.empty:
            return rows
        return new_versions(self._stored(schema), rows, schema)

    def _delete_before(self, schema: TableSchema, cutoff: pd.Timestamp) -> int:
        if not self.path(schema.name).exists():
            return 0
        with exclusive(self.directory):
            stored = self._stored(schema)
            old = stored[EVENT] < cutoff
            if old.any():
                replace_table(self.path(schema.name), _for_arrow(stored[~old], schema),
                              _arrow_schema(schema))
        return int(old.sum())

    def _read(self, schema: TableSchema, tickers, start, end, as_of) -> pd.DataFrame:
        window = query_window(tickers, start, end, as_of)
        rows = _in_window(self._stored(schema), window)
        return as_known_at(rows, schema, window.as_of)

    def latest_features(
        self, tickers: Iterable[str] | None = None, as_of: datetime | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        schema = features_schema()
        window = query_window(tickers, as_of=as_of)
        rows = _in_window(self._stored(schema), window)
        rows = rows[rows[CREATED] <= window.as_of]
        newest = rows.sort_values(["ticker", EVENT, CREATED], kind="stable").drop_duplicates(
            "ticker", keep="last"
        )
        return newest.reset_index(drop=True)

    def tickers(self) -> list[str]:
        stored = read_table(self.path(BARS.name), ["ticker"])
        return [] if stored is None else sorted(stored["ticker"].dropna().unique().tolist())

    def session_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        stored = read_table(self.path(BARS.name), ["session"])
        if stored is None or stored["session"].dropna().empty:
            return None
        sessions = pd.to_datetime(stored["session"].dropna())
        return sessions.min(), sessions.max()

    def quarantine(self, stage: str, rows: pd.DataFrame, reason: str | pd.Series) -> int:
        records = quarantine_records(stage, rows, reason)
        if records.empty:
            return 0
        self.migrate()
        path = self.directory / QUARANTINE_FILE
        with exclusive(self.directory):
            stored = read_table(path)
            next_id = 1 if stored is None or stored.empty else int(stored["id"].max()) + 1
            records.insert(0, "id", range(next_id, next_id + len(records)))
            records["quarantined_at"] = pd.Timestamp.now(tz="UTC")
            combined = records if stored is None else pd.concat([stored, records], ignore_index=True)
            replace_table(path, combined, _QUARANTINE_ARROW)
        return len(records)

    def read_quarantine(self, stage: str | None = None) -> pd.DataFrame:
        stored = read_table(self.directory / QUARANTINE_FILE)
        if stored is None:
            stored = pd.DataFrame(columns=["id", *QUARANTINE_COLUMNS, "quarantined_at"])
        if stage is not None:
            stored = stored[stored["stage"] == stage]
        stored = stored.reset_index(drop=True)
        stored["payload"] = [json.loads(text) for text in stored["payload"]]
        for column in (EVENT, "quarantined_at"):
            stored[column] = pd.to_datetime(stored[column], utc=True).astype("datetime64[ns, UTC]")
        return stored


_QUARANTINE_ARROW = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("stage", pa.string()),
        pa.field("ticker", pa.string()),
        pa.field(EVENT, pa.timestamp("us", tz="UTC")),
        pa.field("reason", pa.string()),
        pa.field("payload", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)
