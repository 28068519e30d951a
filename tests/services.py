"""Real PostgreSQL and Redis for integration tests.

Order of preference: the servers named by STOCKFEATURES_PG_DSN / STOCKFEATURES_REDIS_URL
(default localhost), then testcontainers when a Docker engine answers, else a failure that
says how to provide them. Nothing fakes a database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
import redis

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
HOW_TO = (
    "Integration tests need PostgreSQL and Redis. Start them locally (see .ci/run), point "
    "STOCKFEATURES_PG_DSN / STOCKFEATURES_REDIS_URL at running servers, or run a Docker engine "
    "so testcontainers can start them."
)


def _pg_reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@contextmanager
def postgres_server() -> Iterator[str]:
    """DSN of an administrative database on a reachable PostgreSQL server."""
    dsn = os.environ.get("STOCKFEATURES_PG_DSN") or DEFAULT_PG
    if _pg_reachable(dsn):
        yield dsn
        return
    if not _docker_available():
        pytest.fail(f"PostgreSQL unreachable at {dsn}. {HOW_TO}")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("timescale/timescaledb:latest-pg15", driver=None) as container:
        yield container.get_connection_url()


@contextmanager
def throwaway_database(admin_dsn: str) -> Iterator[str]:
    """A fresh database for one test session, dropped afterwards."""
    name = f"sf_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlparse(admin_dsn)
    try:
        yield urlunparse(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_server() -> Iterator[str]:
    """URL of Redis database 15 on a reachable server, flushed before use."""
    url = os.environ.get("STOCKFEATURES_REDIS_URL") or DEFAULT_REDIS
    if not _redis_reachable(url):
        if not _docker_available():
            pytest.fail(f"Redis unreachable at {url}. {HOW_TO}")
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield _use_test_db(f"redis://{host}:{port}/0")
        return
    yield _use_test_db(url)


def _use_test_db(url: str) -> str:
    test_url = urlunparse(urlparse(url)._replace(path="/15"))
    redis.Redis.from_url(test_url).flushdb()
    return test_url


CLUSTER_SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "redis-cluster.sh"
# Six loopback ports (3 masters + 3 replicas) and their bus ports (+10000); override when
# another cluster on the machine uses these.
DEFAULT_CLUSTER_PORTS = "7101 7102 7103 7104 7105 7106"


@contextmanager
def redis_cluster() -> Iterator[str]:
    """A fresh local Redis Cluster started by infra/redis-cluster.sh, stopped afterwards.

    Yields the STOCKFEATURES_REDIS_CLUSTER_NODES value. Ports come from
    STOCKFEATURES_TEST_REDIS_CLUSTER_PORTS. A missing redis-server fails the test run (the
    cluster profile is a feature, not an optional extra).
    """
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail("the cluster profile's tests need redis-server and redis-cli on PATH "
                    "(apt-get install redis-server)")
    ports = (os.environ.get("STOCKFEATURES_TEST_REDIS_CLUSTER_PORTS") or DEFAULT_CLUSTER_PORTS).split()
    state_dir = Path(tempfile.mkdtemp(prefix="sf_redis_cluster_")) / "state"
    env = {**os.environ, "REDIS_CLUSTER_DIR": str(state_dir)}
    started = subprocess.run([str(CLUSTER_SCRIPT), "start", *ports], env=env, capture_output=True,
                             text=True, timeout=120)
    if started.returncode != 0:
        pytest.fail(f"infra/redis-cluster.sh start failed: {started.stderr.strip()}")
    try:
        yield started.stdout.strip().rpartition("=")[2]
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "stop", *ports], env=env, capture_output=True, timeout=60)
        shutil.rmtree(state_dir.parent, ignore_errors=True)



RAY_SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "ray-cluster.sh"
DEFAULT_RAY_PORT = "6390"


@dataclass(frozen=True)
class RayCluster:
    """A local Ray cluster started by infra/ray-cluster.sh: its address and its state folder,
    whose pid files name the only processes a test may signal."""

    port: str
    state_dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, command: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "RAY_CLUSTER_DIR": str(self.state_dir)}
        return subprocess.run([str(RAY_SCRIPT), command, self.port], env=env,
                              capture_output=True, text=True, timeout=180)

    def busy_task_workers(self) -> list[tuple[str, int, str]]:
        """(node, pid, title) of every Ray worker process of this cluster that is running a
        task now, e.g. `ray::MapBatches(wrapper)`. Left out: idle workers (`ray::IDLE`), the
        agents, and Ray Data's own actors (`ray::_StatsActor`, `ray::_Autoscaling...`).
        Only processes below the pids the script wrote are looked at."""
        import psutil

        idle = {"ray::IDLE", "ray::DashboardAgent", "ray::RuntimeEnvAgent"}
        busy = []
        for node in ("head", "worker"):
            pgid_file = self.state_dir / node / "pgid"
            if not pgid_file.exists():
                continue
            try:
                processes = psutil.Process(int(pgid_file.read_text())).children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for process in processes:
                try:
                    title = " ".join(process.cmdline()).strip()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                if title.startswith("ray::") and title not in idle and not title.startswith("ray::_"):
                    busy.append((node, process.pid, title))
        return busy


@contextmanager
def ray_cluster() -> Iterator[RayCluster]:
    """A fresh local Ray cluster (a head and one worker node, one CPU each) started by
    infra/ray-cluster.sh, stopped afterwards. The head's port comes from
    STOCKFEATURES_TEST_RAY_PORT (never 6379, Redis' port)."""
    port = os.environ.get("STOCKFEATURES_TEST_RAY_PORT") or DEFAULT_RAY_PORT
    cluster = RayCluster(port, Path(tempfile.mkdtemp(prefix="sf_ray_")) / "state")
    started = cluster.run("start")
    if started.returncode != 0:
        pytest.fail(f"infra/ray-cluster.sh start failed: {started.stderr.strip()[-2000:]}")
    try:
        yield cluster
    finally:
        cluster.run("stop")
        shutil.rmtree(cluster.state_dir.parent, ignore_errors=True)
