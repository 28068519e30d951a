"""A real feature server and a real Prometheus scraping it, for the monitoring checks.

The feature server starts the way its container does (infra/docker/entrypoint.sh with
STOCKFEATURES_MIGRATE_ON_START=1, then infra/serve.sh) against a throwaway PostgreSQL
database and Redis db 15. Prometheus runs the committed configuration with only the scrape
targets and intervals rewritten for local processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.unit.infra.monitoring_config import PROMETHEUS_CONFIG, REPO, RULE_FILES

HOW_TO_INSTALL_PROMETHEUS = (
    "the Prometheus server and promtool are needed: install the Debian package `prometheus` "
    "(apt-get install -y prometheus); .ci/run installs it"
)
ENTRYPOINT = REPO / "infra" / "docker" / "entrypoint.sh"
SERVE_SCRIPT = REPO / "infra" / "serve.sh"
VENV_BIN = REPO / ".venv" / "bin"


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    promtool: str


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    host_port: str
    log: Path


@dataclass(frozen=True)
class RunningPrometheus:
    api: httpx.Client
    directory: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop a process group this fixture started (serve.sh may fork granian workers)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _wait_until(check, what: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{what}: not ready after {timeout:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        pytest.fail(HOW_TO_INSTALL_PROMETHEUS)
    return Binaries(prometheus, promtool)


def server_environment(pg_dsn: str, redis_url: str, tmp_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        "STOCKFEATURES_PROFILE": "prod",
        "STOCKFEATURES_PG_DSN": pg_dsn,
        "STOCKFEATURES_REDIS_URL": redis_url,
        "STOCKFEATURES_MIGRATE_ON_START": "1",
        # serve.sh keeps its multiprocess metrics under $TMPDIR: a private one per session.
        "TMPDIR": str(tmp_dir),
        "PYTHON": str(VENV_BIN / "python"),
    })
    return env


@pytest.fixture(scope="session")
def feature_server(pg_dsn: str, redis_url: str, tmp_path_factory) -> Iterator[RunningServer]:
    """`stockfeatures serve` started through the container's entrypoint."""
    if not SERVE_SCRIPT.exists():
        pytest.fail(f"{SERVE_SCRIPT} does not exist: the serving issue's start script is needed "
                    "to scrape a live feature server")
    directory = tmp_path_factory.mktemp("feature-server")
    port = free_port()
    log = directory / "server.log"
    env = server_environment(pg_dsn, redis_url, directory)
    with log.open("wb") as output:
        process = subprocess.Popen(
            # One worker (the container runs two) keeps start-up short on a shared 2-core box;
            # serve.sh still sets PROMETHEUS_MULTIPROC_DIR, so /metrics takes the same
            # multiprocess path it takes in the container.
            ["sh", str(ENTRYPOINT), "bash", str(SERVE_SCRIPT),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], cwd=REPO, env=env,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: httpx.get(f"{base_url}/health", timeout=2).status_code < 500,
                    "feature server /health", 120, process, log)
        yield RunningServer(base_url, f"127.0.0.1:{port}", log)
    finally:
        _stop(process)


def local_prometheus_config(server: RunningServer, self_address: str) -> dict:
    """The committed config with targets pointed at local processes and 1 s intervals.

    Jobs whose exporter cannot run here (redis_exporter, Pushgateway) are dropped: their
    metric names are checked against pinned lists and metrics.py instead (see the tests).
    """
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    local_targets = {"stockfeatures": server.host_port, "prometheus": self_address}
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] in local_targets:
            job["static_configs"] = [{"targets": [local_targets[job["job_name"]]]}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def _copy_rules_with_short_intervals(target: Path) -> None:
    target.mkdir()
    for path in RULE_FILES:
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            group["interval"] = "1s"
        (target / path.name).write_text(yaml.safe_dump(rules, sort_keys=False))


@pytest.fixture(scope="session")
def prometheus(binaries: Binaries, feature_server: RunningServer, tmp_path_factory) -> Iterator[RunningPrometheus]:
    directory = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    address = f"127.0.0.1:{port}"
    _copy_rules_with_short_intervals(directory / "rules")
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(local_prometheus_config(feature_server, address), sort_keys=False))
    log = directory / "prometheus.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binaries.prometheus, f"--config.file={config_path}",
             f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address={address}",
             "--log.level=warn"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    api = httpx.Client(base_url=f"http://{address}", timeout=10)
    try:
        _wait_until(lambda: api.get("/-/ready").status_code == 200, "prometheus /-/ready", 60, process, log)
        yield RunningPrometheus(api, directory)
    finally:
        api.close()
        _stop(process)
