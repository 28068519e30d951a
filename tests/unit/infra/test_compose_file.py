"""docker-compose.yml brings up a platform that fits a 4 GB NAS and keeps its secrets in .env.

No Docker engine runs here, so these checks read the file the way compose does; the
integration tests in tests/integration/infra/ run the configs it mounts with the real programs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.unit.infra.compose_file import (
    documented_variables,
    environment_of,
    load_compose,
    memory_bytes,
    memory_limit,
    referenced_variables,
    services,
)
from tests.unit.infra.monitoring_config import COMPOSE_FILE, ENV_EXAMPLE, REPO

FOUR_GB = 4 * 1024**3
EXPECTED_SERVICES = {
    "redis", "timescaledb", "feature-server", "prefect-server", "prefect-worker",
    "prometheus", "grafana", "redis-exporter", "pushgateway",
}
STATEFUL_MOUNTS = {
    "redis": "/data",
    "timescaledb": "/var/lib/postgresql/data",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "pushgateway": "/data",
}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|AUTH")


def test_the_stack_has_every_component_of_the_platform() -> None:
    assert set(services()) >= EXPECTED_SERVICES


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_every_service_has_an_image_or_a_build(name: str) -> None:
    service = services()[name]
    assert service.get("image") or service.get("build"), f"{name} has neither image nor build"


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = services()[name].get("healthcheck") or {}
    assert not check.get("disable"), f"{name} disables its healthcheck"
    test = check.get("test")
    assert test and test not in (["NONE"], "NONE"), f"{name} has no healthcheck test"


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_every_service_has_a_memory_limit_and_a_restart_policy(name: str) -> None:
    service = services()[name]
    assert memory_limit(service), f"{name} has no mem_limit"
    assert service.get("restart") in ("always", "unless-stopped", "on-failure"), name


def test_memory_limits_add_up_to_at_most_4_gb() -> None:
    limits = {name: memory_limit(service) for name, service in services().items()}
    assert None not in limits.values(), f"services without a memory limit: {limits}"
    total = sum(limits.values())
    assert total <= FOUR_GB, (
        f"memory limits sum to {total / 1024**2:.0f} MiB > 4096 MiB: "
        + ", ".join(f"{name}={value / 1024**2:.0f}MiB" for name, value in limits.items()))


def test_memory_notation_is_read_in_binary_units() -> None:
    assert memory_bytes("512m") == 512 * 1024**2
    assert memory_bytes("1g") == 1024**3
    assert memory_bytes("1.5g") == int(1.5 * 1024**3)
    with pytest.raises(ValueError, match="Docker memory size"):
        memory_bytes("lots")


def test_redis_keeps_the_online_store_within_512mb_and_evicts_lru() -> None:
    """The limits live in the committed redis.conf that the service mounts and starts with."""
    redis = services()["redis"]
    conf = REPO / "infra" / "redis" / "redis.conf"
    assert f"./infra/redis/redis.conf:{redis['command'][1]}:ro" in redis["volumes"]
    settings = dict(line.split(None, 1) for line in conf.read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    assert settings["maxmemory"] == "512mb"
    assert settings["maxmemory-policy"] == "allkeys-lru"
    assert memory_bytes(redis["mem_limit"]) > memory_bytes("512m")


@pytest.mark.parametrize(("name", "target"), sorted(STATEFUL_MOUNTS.items()))
def test_state_lives_in_named_volumes(name: str, target: str) -> None:
    compose = load_compose()
    mounts = [volume.split(":") for volume in services(compose)[name].get("volumes", [])]
    sources = [source for source, mounted, *_ in mounts if mounted == target]
    assert sources, f"{name} does not mount anything at {target}"
    assert sources[0] in compose["volumes"], f"{name} keeps {target} in {sources[0]}, not a named volume"


def test_bind_mounted_files_exist_in_the_repository() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_the_timescaledb_image_is_the_one_the_issue_names() -> None:
    assert services()["timescaledb"]["image"] == "timescale/timescaledb:latest-pg15"
    assert services()["redis"]["image"] == "redis:7-alpine"


def test_the_feature_server_applies_migrations_before_it_serves() -> None:
    server = services()["feature-server"]
    assert environment_of(server)["STOCKFEATURES_MIGRATE_ON_START"] == "1"
    assert server["build"]["dockerfile"] == "infra/Dockerfile"
    assert server["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    entrypoint = (REPO / "infra" / "docker" / "entrypoint.sh").read_text()
    assert "stockfeatures --profile prod migrate" in entrypoint


def test_the_worker_waits_for_migrated_stores_and_a_healthy_prefect_server() -> None:
    worker = services()["prefect-worker"]
    assert worker["depends_on"]["feature-server"]["condition"] == "service_healthy"
    assert worker["depends_on"]["prefect-server"]["condition"] == "service_healthy"


def test_the_worker_runs_the_pipelines_serve_command() -> None:
    """The command parses: `python -m pipelines serve --help` exits 0 without starting anything."""
    command = services()["prefect-worker"]["command"]
    assert command[:2] == ["python", "-m"], command
    result = subprocess.run([str(REPO / ".venv" / "bin" / "python"), *command[1:], "--help"],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, (
        f"the prefect-worker service runs {' '.join(command)!r}, which fails: {result.stderr[-2000:]}")


def test_every_variable_compose_reads_is_documented_in_env_example() -> None:
    documented = documented_variables()
    referenced = referenced_variables(COMPOSE_FILE.read_text())
    missing = sorted(set(referenced) - set(documented))
    assert not missing, f"docker-compose.yml reads {missing}, which .env.example does not document"
    unset_required = sorted(name for name, required in referenced.items()
                            if required and not documented[name])
    assert not unset_required, (
        f"compose refuses to start without {unset_required}; .env.example must set them "
        "(uncommented) so `cp .env.example .env` gives a stack that starts")


def test_variable_scanner_understands_compose_interpolation() -> None:
    text = "a: ${ONE}\nb: ${TWO:-x}\nc: ${THREE:?set it}\nd: $FOUR\ne: $${NOT_A_VAR}\n"
    assert referenced_variables(text) == {"ONE": False, "TWO": False, "THREE": True, "FOUR": False}


def test_no_secret_value_is_written_in_the_compose_file() -> None:
    for name, service in services().items():
        for key, value in environment_of(service).items():
            if SECRET_KEY.search(key):
                assert value.startswith("${") and value.endswith("}"), (
                    f"{name}: {key} must come from .env as ${{VARIABLE}}, not be written in the file")
        command = [str(item) for item in service.get("command") or []]
        for flag, value in zip(command, command[1:], strict=False):
            if flag in ("--requirepass", "--masterauth"):
                assert value.startswith("${"), f"{name}: {flag} must come from .env"


def test_connection_urls_take_their_passwords_from_env() -> None:
    for name, service in services().items():
        for key, value in environment_of(service).items():
            if "://" in value and "@" in value:
                credentials = value.split("://", 1)[1].split("@", 1)[0]
                assert "${" in credentials, f"{name}: {key} embeds a literal password"


def test_docker_compose_accepts_the_file_with_the_example_environment(tmp_path) -> None:
    """The real compose implementation validates the schema and every interpolation."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: `apt-get install -y docker-compose` "
                    "(Debian package; .ci/run installs it)")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STOCKFEATURES_", "POSTGRES_", "REDIS_", "GRAFANA_"))}
    result = subprocess.run(
        [binary, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
         "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


CLUSTER_OVERRIDE = REPO / "docker-compose.cluster.yml"


def test_the_cluster_variant_merges_and_switches_serving_to_the_cluster_profile() -> None:
    """docker-compose.cluster.yml over docker-compose.yml: 6 cluster nodes, a one-shot join,
    and the feature server and worker on the `cluster` profile (validated by compose itself)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: `apt-get install -y docker-compose`")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STOCKFEATURES_", "POSTGRES_", "REDIS_", "GRAFANA_"))}
    result = subprocess.run(
        [binary, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "-f", str(CLUSTER_OVERRIDE),
         "--env-file", str(ENV_EXAMPLE), "config"],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)["services"]
    nodes = [name for name in merged if name.startswith("redis-cluster-") and name[-1].isdigit()]
    assert len(nodes) == 6
    assert all("--cluster-enabled" in merged[name]["command"] for name in nodes)
    assert "--cluster-replicas 1" in merged["redis-cluster-init"]["command"][0]
    for name in ("feature-server", "prefect-worker"):
        environment = merged[name]["environment"]
        assert environment["STOCKFEATURES_PROFILE"] == "cluster"
        assert set(environment["STOCKFEATURES_REDIS_CLUSTER_NODES"].replace(":6379", "").split(",")) <= set(nodes)
    assert merged["feature-server"]["depends_on"]["redis-cluster-init"]["condition"] == \
        "service_completed_successfully"
