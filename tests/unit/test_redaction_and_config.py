"""Secrets never reach a message, and TLS Redis URLs reach Feast as ssl=true."""

from __future__ import annotations

import os

import pytest

from stockfeatures.config import ConfigError, feast_redis_connection, load_settings
from stockfeatures.redaction import redact


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://admin:TopSecret99@db.internal:5432/sf", "postgresql://admin:***@db.internal:5432/sf"),
    ("got 'postgresql+psycopg://admin:TopSecret99@db.internal:5432/sf'",
     "got 'postgresql+psycopg://admin:***@db.internal:5432/sf'"),
    ("rediss://:Hunter22@cache:6380/0", "rediss://:***@cache:6380/0"),
    ("cache:6380,db=0,password=Hunter22,ssl=true", "cache:6380,db=0,password=***,ssl=true"),
    ("host=db user=admin password=TopSecret99 dbname=sf", "host=db user=admin password=*** dbname=sf"),
    ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@127.0.0.1:5432/postgres"),
])
def test_redact_hides_passwords_and_keeps_the_rest(text, expected):
    assert redact(text) == expected


def test_driver_suffixed_dsn_is_refused_without_echoing_the_password(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", "postgresql+psycopg://admin:TopSecret99@db.internal:5432/sf")
    with pytest.raises(ConfigError) as error:
        load_settings("prod")
    assert "TopSecret99" not in str(error.value)
    assert "admin:***@db.internal" in str(error.value)


def test_tls_redis_url_is_accepted(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", "rediss://app:Hunter22@cache.internal:6380/3")
    settings = load_settings("prod")
    assert settings.redis_url.startswith("rediss://")
    assert settings.feast_environment()["STOCKFEATURES_REDIS_CONNECTION"] == (
        "cache.internal:6380,db=3,username=app,password=Hunter22,ssl=true")


def test_feast_reads_the_tls_connection_string_as_an_ssl_client():
    """The string goes through Feast's own parser into redis-py: a TLS connection pool."""
    import redis
    from feast.infra.online_stores.redis import RedisOnlineStore

    nodes, params = RedisOnlineStore._parse_connection_string(
        feast_redis_connection("rediss://:Hunter22@cache.internal:6380/3"))
    assert nodes == [{"host": "cache.internal", "port": "6380"}]
    assert params == {"db": 3, "password": "Hunter22", "ssl": True}
    client = redis.Redis(host=nodes[0]["host"], port=int(nodes[0]["port"]), **params)
    assert client.connection_pool.connection_class is redis.SSLConnection


def test_plain_redis_url_has_no_ssl_flag():
    assert feast_redis_connection("redis://127.0.0.1:6379/0") == "127.0.0.1:6379,db=0"


def test_comma_in_redis_password_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", "redis://:a,b@cache:6379/0")
    with pytest.raises(ConfigError, match="without commas") as error:
        load_settings()
    assert "a,b" not in str(error.value)


def test_cluster_profile_gives_feast_its_startup_nodes_and_credentials(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_NODES", "cfg.cache.internal:6379, 10.0.0.7:7000")
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_PASSWORD", "Hunter22")
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_SSL", "true")
    settings = load_settings("cluster")
    assert settings.feature_store_yaml.name == "feature_store.cluster.yaml"
    assert settings.redis_cluster.nodes == (("cfg.cache.internal", 6379), ("10.0.0.7", 7000))
    connection = settings.feast_environment()["STOCKFEATURES_REDIS_CONNECTION"]
    assert connection == "cfg.cache.internal:6379,10.0.0.7:7000,password=Hunter22,ssl=true"
    assert redact(connection) == "cfg.cache.internal:6379,10.0.0.7:7000,password=***,ssl=true"


def test_feast_reads_the_cluster_connection_string_as_cluster_nodes():
    """The string goes through Feast's own parser: no db number (a cluster has only db 0)."""
    from feast.infra.online_stores.redis import RedisOnlineStore

    from stockfeatures.config import DEFAULT_CLUSTER_NODES, RedisClusterSettings

    settings = RedisClusterSettings(nodes=(("127.0.0.1", 7101), ("127.0.0.1", 7102)))
    nodes, params = RedisOnlineStore._parse_connection_string(settings.feast_connection())
    assert nodes == [{"host": "127.0.0.1", "port": "7101"}, {"host": "127.0.0.1", "port": "7102"}]
    assert params == {}
    assert DEFAULT_CLUSTER_NODES.startswith("127.0.0.1:7101,")  # infra/redis-cluster.sh's default


def test_prod_profile_has_no_cluster_settings(monkeypatch):
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_NODES", "10.0.0.7:7000")
    assert load_settings("prod").redis_cluster is None


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("STOCKFEATURES_REDIS_CLUSTER_NODES", "10.0.0.7", "host:port pairs"),
    ("STOCKFEATURES_REDIS_CLUSTER_NODES", "10.0.0.7:7000,", "host:port pairs"),
    ("STOCKFEATURES_REDIS_CLUSTER_PASSWORD", "a,b", "without commas"),
    ("STOCKFEATURES_REDIS_CLUSTER_SSL", "yes", "true or false"),
])
def test_bad_cluster_setting_is_refused_naming_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message) as error:
        load_settings("cluster")
    assert variable.rsplit("_", 1)[0] in str(error.value)


@pytest.mark.parametrize("address", ["10.0.0.9:6390", "ray://raycluster-head-svc.ml:10001", "auto"])
def test_cluster_profile_hands_feast_the_ray_address(monkeypatch, address):
    monkeypatch.setenv("STOCKFEATURES_RAY_ADDRESS", address)
    assert load_settings("cluster").feast_environment()["STOCKFEATURES_RAY_ADDRESS"] == address


def test_ray_address_defaults_to_the_local_script_and_reaches_feasts_ray_engine(monkeypatch):
    """The cluster yaml, as Feast loads it, selects ray.engine at infra/ray-cluster.sh's head."""
    import yaml
    from feast.repo_config import RepoConfig

    from stockfeatures.config import DEFAULT_RAY_ADDRESS

    monkeypatch.delenv("STOCKFEATURES_RAY_ADDRESS", raising=False)
    settings = load_settings("cluster")
    assert settings.ray_address == DEFAULT_RAY_ADDRESS == "127.0.0.1:6390"
    for key, value in settings.feast_environment().items():
        monkeypatch.setenv(key, value)
    text = os.path.expandvars(settings.feature_store_yaml.read_text())
    config = RepoConfig(repo_path=settings.feature_repo_dir, **yaml.safe_load(text))
    assert config.batch_engine.type == "ray.engine"
    assert config.batch_engine.ray_address == DEFAULT_RAY_ADDRESS
    assert config.materialization_config.pull_latest_features


@pytest.mark.parametrize(("value", "message"), [
    ("127.0.0.1:6379", "Redis' port"),
    ("10.0.0.9", "host:port of a Ray head"),
    ("http://10.0.0.9:8265", "host:port of a Ray head"),
])
def test_bad_ray_address_is_refused_naming_the_variable(monkeypatch, value, message):
    monkeypatch.setenv("STOCKFEATURES_RAY_ADDRESS", value)
    with pytest.raises(ConfigError, match=message) as error:
        load_settings("cluster")
    assert "STOCKFEATURES_RAY_ADDRESS" in str(error.value)
