"""Fixtures for point-in-time retrieval tests: one throwaway database and one Feast repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pit.feast_repo import PitRepo, build_repo
from tests.services import throwaway_database


@pytest.fixture(scope="session")
def pit_dsn(pg_admin_dsn: str) -> Iterator[str]:
    with throwaway_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def pit_repo(pit_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> PitRepo:
    root: Path = tmp_path_factory.mktemp("pit_repo")
    return build_repo(root, pit_dsn)
