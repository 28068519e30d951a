"""Append-only, bitemporal offline storage: PostgreSQL/TimescaleDB (prod) or parquet (local)."""

from stockfeatures.storage.errors import InvalidFrame, MigrationFailed, StorageError, WriteFailed
from stockfeatures.storage.migrate import MigrationReport, migrate
from stockfeatures.storage.parquet_warehouse import ParquetWarehouse
from stockfeatures.storage.postgres_warehouse import PostgresWarehouse
from stockfeatures.storage.query_window import InvalidQuery
from stockfeatures.storage.warehouse import Warehouse, WriteResult

__all__ = [
    "InvalidFrame",
    "InvalidQuery",
    "MigrationFailed",
    "MigrationReport",
    "ParquetWarehouse",
    "PostgresWarehouse",
    "StorageError",
    "Warehouse",
    "WriteFailed",
    "WriteResult",
    "migrate",
]
