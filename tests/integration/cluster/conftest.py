"""One `cluster`-profile stack (real PostgreSQL + a local 6-node Redis Cluster + a local Ray
cluster, on which Feast's ray.engine materializes) for the
serving tests that the prod profile also passes (they are imported into this folder and
run against this `stack`)."""

from __future__ import annotations

import pytest

from tests.integration.profile_stack import build_stack
from tests.services import throwaway_database


@pytest.fixture(scope="session")
def stack(tmp_path_factory, pg_admin_dsn, redis_cluster_nodes, ray_address):
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        yield build_stack("cluster", tmp_path_factory.mktemp("cluster"), monkeypatch, dsn,
                          redis_cluster_nodes=redis_cluster_nodes, ray_address=ray_address)
