"""The stockfeatures image builds from files in the repository and runs as a non-root user.

No Docker engine here: the checks read infra/Dockerfile the way the builder does.
"""

from __future__ import annotations

import fnmatch
import os
import shlex

from tests.unit.infra.monitoring_config import REPO

DOCKERFILE = REPO / "infra" / "Dockerfile"
DOCKERIGNORE = REPO / "infra" / "Dockerfile.dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            if current.strip():
                keyword, _, rest = current.strip().partition(" ")
                joined.append((keyword.upper(), rest.strip()))
            current = ""
    return joined


def _ignored(path: str) -> bool:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
               for pattern in patterns)


def test_every_file_the_build_copies_is_in_the_context() -> None:
    for keyword, args in _instructions():
        if keyword != "COPY" or args.startswith("--from"):
            continue
        *sources, _destination = shlex.split(args)
        for source in sources:
            matches = list(REPO.glob(source))
            assert matches, f"COPY {source}: not in the repository"
            assert not _ignored(source), f"COPY {source}: excluded by {DOCKERIGNORE.name}"


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in _instructions() if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_has_a_healthcheck_on_the_feature_server_health_route() -> None:
    (check,) = [args for keyword, args in _instructions() if keyword == "HEALTHCHECK"]
    assert "/health" in check


def test_entrypoint_and_start_scripts_are_executable_shell_scripts() -> None:
    for script in ("infra/docker/entrypoint.sh", "infra/docker/prefect-server.sh"):
        path = REPO / script
        assert path.read_text().startswith("#!/bin/sh"), script
        assert os.access(path, os.X_OK), f"{script} is not executable"


def test_secrets_and_local_state_never_enter_the_build_context() -> None:
    for path in (".env", ".venv/bin/python", "data/local/registry.db", ".git/config"):
        assert _ignored(path), f"{path} would be sent to the Docker build"
