"""Secrets never reach a message, and TLS Redis URLs reach Feast as ssl=true."""

from __future__ import annotations

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
