"""PostgreSQL dies in the middle of a write: the flow retries, nothing is duplicated or partial.

The test runs its own PostgreSQL cluster (initdb/pg_ctl on a free port) so it can stop it.
To stop it *during* the write rather than before or after, it holds an EXCLUSIVE lock on
`prices` (reads still work, inserts wait): the flow's write then sits inside its transaction,
after COPYing the batch, waiting on the lock; a watcher sees that in pg_stat_activity and
kills the server (`pg_ctl stop -m immediate`), then starts it again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from stockfeatures.prices.sample import SampleSource

pytestmark = pytest.mark.integration

PG_BIN = Path(os.environ.get("STOCKFEATURES_PG_BIN", "/usr/lib/postgresql/15/bin"))
TICKERS = ["AAPL", "MSFT", "SPY"]
START, END = date(2025, 1, 2), date(2025, 3, 31)


class Cluster:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c track_activity_query_size=16384")
        self._pg_ctl("-o", options, "-l", str(self.directory / "server.log"), "-w", "start")

    def kill(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")


def _as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root; run the cluster as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN}; set STOCKFEATURES_PG_BIN")
    directory = Path(tempfile.mkdtemp(prefix="sf_pg_outage_"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(directory / "data"), "-U", "postgres",
                                 "--auth=trust", "--no-sync"]), check=True, capture_output=True, timeout=120)
    server = Cluster(directory, _free_port())
    server.start()
    try:
        yield server
    finally:
        try:
            server.kill()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def _writes_prices(query: str) -> bool:
    """The store's write of bars: a COPY straight into prices (first versions) or the
    version-checked INSERT ... SELECT from its staging table."""
    text = query.upper()
    return "PRICES" in text and (text.lstrip().startswith("COPY") or "INSERT" in text)


def _kill_during_insert(cluster: Cluster, holder: psycopg.Connection, events: dict) -> None:
    """Wait for the flow's write to block on our lock, then crash and restart the server."""
    deadline = time.monotonic() + 60
    with psycopg.connect(cluster.dsn, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            activity = watcher.execute(
                "SELECT wait_event_type, query FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            ).fetchall()
            if any(kind == "Lock" and _writes_prices(query) for kind, query in activity):
                break
            time.sleep(0.05)
        else:
            events["error"] = f"the write never reached the lock: {activity}"
            holder.close()  # let the flow finish so the test can report
            return
    events["killed_during_write"] = True
    cluster.kill()
    holder.close()
    time.sleep(1.0)
    cluster.start()
    events["restarted"] = True


def test_write_interrupted_by_a_database_crash_is_retried_without_duplicates(
        prefect_api, cluster, monkeypatch):
    from pipelines.backfill import backfill
    from stockfeatures.profiles import open_warehouse

    monkeypatch.setenv("STOCKFEATURES_PROFILE", "prod")
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", cluster.dsn)
    warehouse = open_warehouse()
    warehouse.migrate()
    warehouse.close()

    holder = psycopg.connect(cluster.dsn)
    holder.execute("LOCK TABLE prices IN EXCLUSIVE MODE")
    events: dict = {}
    watcher = threading.Thread(target=_kill_during_insert, args=(cluster, holder, events), daemon=True)
    watcher.start()
    state = backfill(START, END, tickers=TICKERS, source="sample", materialize=False,
                     storage_retries=8, storage_retry_delay_seconds=1.0, return_state=True)
    watcher.join(timeout=60)

    assert events.get("killed_during_write") and events.get("restarted"), events
    assert state.is_completed(), state.message
    expected = SampleSource().fetch(TICKERS, START, END).bars
    with psycopg.connect(cluster.dsn) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (ticker, session)) FROM prices").fetchone()
        features = conn.execute("SELECT count(*) FROM features_daily").fetchone()[0]
    assert total == distinct == len(expected)  # the whole batch, once
    assert features == len(expected)
