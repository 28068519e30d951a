"""Which errors a stage may retry: transient storage trouble, never bad data."""

from __future__ import annotations

import psycopg

from stockfeatures.storage.errors import WriteFailed


def is_transient_storage_error(error: BaseException) -> bool:
    """Worth retrying a write or read: the database was unreachable or dropped the connection.

    A rejected batch (InvalidFrame, ValidationFailed) is not: retrying cannot fix data.
    Writes are transactional and idempotent, so a retry after a failure mid-write neither
    duplicates rows nor leaves a partial batch.
    """
    return isinstance(error, WriteFailed | psycopg.OperationalError | psycopg.InterfaceError | OSError)
