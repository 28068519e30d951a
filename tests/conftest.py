"""Session fixtures shared by every test folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import (
    RayCluster,
    postgres_server,
    ray_cluster,
    redis_cluster,
    redis_server,
    throwaway_database,
)

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A throwaway database on the real PostgreSQL server, for this test session."""
    with throwaway_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_cluster_nodes() -> Iterator[str]:
    """A local 6-node Redis Cluster for the `cluster` profile; its startup nodes."""
    with redis_cluster() as nodes:
        yield nodes


@pytest.fixture(scope="session")
def local_ray_cluster() -> Iterator[RayCluster]:
    """A local Ray cluster (head + one worker node) for the `cluster` profile's batch engine."""
    with ray_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def ray_address(local_ray_cluster: RayCluster) -> str:
    """STOCKFEATURES_RAY_ADDRESS of the session's local Ray cluster."""
    return local_ray_cluster.address


def copy_repo_skeleton(target: Path) -> Path:
    """A private copy of feature_repo/ and the migrations, so a test's registry and data never
    touch the checkout (STOCKFEATURES_REPO_DIR then points at `target`)."""
    shutil.copytree(REPO / "feature_repo", target / "feature_repo",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copytree(REPO / "infra" / "sql", target / "infra" / "sql")
    (target / "docs").mkdir(exist_ok=True)
    return target


@pytest.fixture
def local_repo(tmp_path, monkeypatch) -> Path:
    """A private copy of the repo skeleton selected as the `local` profile's home."""
    copy_repo_skeleton(tmp_path)
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(tmp_path))
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "local")
    return tmp_path
