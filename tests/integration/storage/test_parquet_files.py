"""Parquet-specific guarantees: atomic replacement and a features file Feast's DuckDB store reads."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.storage import ParquetWarehouse, parquet_files

pytestmark = pytest.mark.integration


def test_failed_write_keeps_the_previous_file_whole(tmp_path, make_bars, monkeypatch):
    warehouse = ParquetWarehouse(tmp_path)
    warehouse.write_bars(make_bars(tickers=("AAA",)))

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(parquet_files.pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space"):
        warehouse.write_bars(make_bars(tickers=("BBB",)))
    monkeypatch.undo()

    assert warehouse.tickers() == ["AAA"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".write.lock", "prices.parquet"]


def test_features_file_has_the_feast_file_source_layout(tmp_path, make_features):
    warehouse = ParquetWarehouse(tmp_path)
    features = make_features()
    warehouse.write_features(features)
    path = tmp_path / "features_daily.parquet"

    schema = pq.read_schema(path)
    assert schema.names == ["ticker", "event_timestamp", "created_timestamp", *FEATURE_NAMES]
    assert str(schema.field("event_timestamp").type) == "timestamp[us, tz=UTC]"

    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        described = conn.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        types = {row[0]: row[1] for row in described}
        latest = conn.execute(
            f"SELECT max(event_timestamp) FROM read_parquet('{path}') WHERE ticker = 'AAA'"
        ).fetchone()[0]
    assert types["event_timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["created_timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert pd.Timestamp(latest) == features["event_timestamp"].max()
