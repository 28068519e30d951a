"""One prod-profile stack (real PostgreSQL + Redis db 15) shared by the serving tests.

Serving reads freshness against an injected clock, so tests choose "now" relative to the
stack's newest session (2025-06-30, a Monday) instead of depending on the real date.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from stockfeatures.serving.factory import (
    fail_fast_feast_redis,
    loop_redis_url,
    serving_client,
    serving_redis,
)
from stockfeatures.serving.online_reader import RedisReader, entity_key
from stockfeatures.serving.options import ServingOptions
from stockfeatures.serving.server import FeatureServer
from tests.integration.profile_stack import build_stack

REPO = Path(__file__).resolve().parents[3]
# Tuesday 2025-07-01 15:00 UTC: before Tuesday's close, so Monday 2025-06-30 is the latest
# completed session and the stack's newest values are fresh.
TUESDAY_MORNING = datetime(2025, 7, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, pg_dsn, redis_url):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_stack("prod", tmp_path_factory.mktemp("serving"), monkeypatch, pg_dsn, redis_url)


class CountingWarehouse:
    """The real warehouse, counting how often each ticker's latest row is read, and on which
    thread (a spy)."""

    def __init__(self, inner):
        self.inner = inner
        self.latest_reads: Counter[str] = Counter()
        self.latest_threads: list[str] = []

    def latest_features(self, tickers=None, **kwargs):
        for ticker in tickers or ():
            self.latest_reads[ticker] += 1
        self.latest_threads.append(threading.current_thread().name)
        return self.inner.latest_features(tickers, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def make_server(stack, *, now=TUESDAY_MORNING, redis_url=None, store=None, warehouse=None,
                **options) -> FeatureServer:
    """warehouse: a spy around stack.warehouse (default CountingWarehouse)."""
    opts = ServingOptions(**{"negative_ttl_s": 30.0, **options})
    store = store or stack.store
    fail_fast_feast_redis(store, opts.redis_timeout_s)
    return FeatureServer(
        store,
        warehouse or CountingWarehouse(stack.warehouse),
        serving_redis(redis_url, opts.redis_timeout_s) if redis_url
        else serving_client(stack.settings, opts.redis_timeout_s),
        benchmark=stack.settings.benchmark_ticker,
        options=opts,
        clock=lambda: now,
        redis_url=redis_url or loop_redis_url(stack.settings),
    )


def forget_online(server: FeatureServer, ticker: str) -> None:
    """Remove a ticker's online values and serving's locks/markers for it."""
    client = server.redis
    if isinstance(server.reader, RedisReader):
        client.delete(server.reader.key(ticker))
    else:
        _forget_sqlite(server.store, ticker)
    client.delete(server.locks.lock_key(ticker))
    for key in client.scan_iter(match=server.locks.marker_pattern(ticker)):
        client.delete(key)


def _forget_sqlite(store, ticker: str) -> None:
    """The `local` profile's SQLite online store: delete the ticker's rows of every view (the
    table and key layout of feast.infra.online_stores.sqlite, which has no delete of its own)."""
    import sqlite3

    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.infra.online_stores.helpers import compute_table_id

    path = Path(store.config.online_store.path)
    path = path if path.is_absolute() else Path(store.repo_path) / path
    key = serialize_entity_key(entity_key(ticker), store.config.entity_key_serialization_version)
    with sqlite3.connect(path) as db:
        for view in store.list_feature_views():
            db.execute(f'DELETE FROM "{compute_table_id(store.project, view)}" WHERE entity_key = ?', (key,))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A redis-server of our own on a free port, so a test can kill and restart it."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        for _ in range(200):
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("the Redis failure test needs the redis-server binary on PATH")
    server = RedisProcess()
    server.start()
    yield server
    server.kill()


def _server_environment(stack, metrics_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **stack.settings.feast_environment(),
            "STOCKFEATURES_REPO_DIR": str(stack.settings.repo_dir),
            "STOCKFEATURES_PROFILE": "prod",
            "STOCKFEATURES_PG_DSN": stack.settings.pg_dsn,
            "STOCKFEATURES_REDIS_URL": stack.settings.redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **extra}


def _started_workers(port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(1 for line in text.splitlines()
               if line.startswith("stockfeatures_server_start_time_seconds{"))


def _wait_for_every_worker(port: int, workers: int) -> None:
    """/health answers once the first worker is up; the others may still be importing Feast.
    A test that counts per-worker series must see all of them, so wait for each start mark."""
    deadline = time.monotonic() + 300
    while _started_workers(port) < workers:
        if time.monotonic() > deadline:
            pytest.fail(f"only {_started_workers(port)} of {workers} workers started in 5 minutes")
        time.sleep(0.2)


@contextmanager
def serve_process(stack, metrics_dir: Path, workers: int, **extra_env: str) -> Iterator[int]:
    """The real server process (infra/serve.sh, granian) on a free port, ready when /health
    answers; yields the port and stops the whole process group. Its output goes to a log
    file beside metrics_dir (printed path), read by the start-up line test."""
    port = free_port()
    log_path = metrics_dir.parent / f"{metrics_dir.name}-server.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [str(REPO / "infra" / "serve.sh"), "--port", str(port), "--workers", str(workers)],
        env=_server_environment(stack, metrics_dir, **extra_env), cwd=REPO,
        start_new_session=True, stdout=log_file, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not answer /health within 5 minutes")
        _wait_for_every_worker(port, workers)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log_file.close()
        print(f"server log: {log_path}")


@pytest.fixture(scope="module")
def one_worker_server(stack, tmp_path_factory):
    """One worker of the real server; yields its (host, port)."""
    with serve_process(stack, tmp_path_factory.mktemp("metrics"), workers=1) as port:
        yield "127.0.0.1", port


PG_BIN = Path(os.environ.get("STOCKFEATURES_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root; run the cluster as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PgCluster:
    """A PostgreSQL cluster of our own (initdb + pg_ctl on a free port) that a fault test
    may stop, kill, freeze (SIGSTOP) and thaw; nothing else uses it."""

    def __init__(self, directory: Path):
        self.directory, self.port = directory, free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._frozen: list[int] = []

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.directory / "data"),
                                     "-U", "postgres", "--auth=trust", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.directory / "server.log"), "-w", "start")

    def kill(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def _processes(self) -> list[int]:
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        self._frozen = self._processes()
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._frozen:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PgCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN}; set STOCKFEATURES_PG_BIN")
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="sf_serving_pg_"))
    cluster = PgCluster(directory)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.thaw()
        with suppress(subprocess.CalledProcessError):  # already stopped by the test
            cluster.kill()
        shutil.rmtree(directory, ignore_errors=True)
