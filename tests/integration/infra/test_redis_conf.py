"""The committed redis.conf is one a real Redis 7 accepts, with the limits the stack promises."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.integration.infra.conftest import free_port
from tests.unit.infra.monitoring_config import REPO

pytestmark = pytest.mark.integration

REDIS_CONF = REPO / "infra" / "redis" / "redis.conf"


@pytest.fixture()
def redis_with_committed_conf(tmp_path) -> Iterator[redis.Redis]:
    """redis-server started on the file as the container starts it (plus a local port/dir)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, str(REDIS_CONF), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
         "--requirepass", "test-password", "--save", ""],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, password="test-password", socket_connect_timeout=1,
                         retry=Retry(NoBackoff(), 0))
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"redis-server rejected {REDIS_CONF}:\n{process.stdout.read().decode()}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not answer within 10 s")
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_online_store_is_capped_at_512mb_and_evicts_least_recently_used(redis_with_committed_conf) -> None:
    config = redis_with_committed_conf.config_get("maxmemory*")
    assert int(config["maxmemory"]) == 512 * 1024 * 1024
    assert config["maxmemory-policy"] == "allkeys-lru"


def test_evictions_free_memory_in_the_background(redis_with_committed_conf) -> None:
    assert redis_with_committed_conf.config_get("lazyfree-lazy-eviction")["lazyfree-lazy-eviction"] == "yes"


def test_the_password_from_the_command_line_is_enforced(redis_with_committed_conf) -> None:
    port = redis_with_committed_conf.connection_pool.connection_kwargs["port"]
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, retry=Retry(NoBackoff(), 0)).ping()
