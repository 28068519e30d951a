"""Single-file parquet tables that are replaced atomically and written by one process at a time.

Readers (including Feast's DuckDB offline store) always see a whole file: a write goes to a
temp file in the same directory and os.replace()s it in. An flock on a sidecar lock file
serializes read-modify-write cycles of concurrent writers on this machine.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    with open(directory / ".write.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    if not path.exists():
        return None
    table = pq.read_table(path)
    frame = table.to_pandas()
    if columns is not None:
        frame = frame.reindex(columns=columns)
    return frame


def replace_table(path: Path, frame: pd.DataFrame, schema: pa.Schema | None = None) -> None:
    # Microsecond timestamps: what PostgreSQL and DuckDB both store natively.
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temp_name, coerce_timestamps="us", allow_truncated_timestamps=False)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
