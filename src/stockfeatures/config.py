"""Settings from environment variables: the one place that knows how the platform is wired.

Feature math and flows never branch on the profile; they ask this module (and
`stockfeatures.profiles`) for stores, so `local`, `prod` and `cluster` differ only in
configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from stockfeatures.redaction import redact

PROFILES = ("local", "prod", "cluster")
PG_SCHEMES = ("postgresql://", "postgres://")
REDIS_SCHEMES = ("redis://", "rediss://")
# The loopback cluster infra/redis-cluster.sh starts by default.
DEFAULT_CLUSTER_NODES = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103,127.0.0.1:7104,127.0.0.1:7105,127.0.0.1:7106"
# The head node infra/ray-cluster.sh starts by default (never 6379, Redis' port).
DEFAULT_RAY_ADDRESS = "127.0.0.1:6390"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable to fix."""


def _repo_dir() -> Path:
    configured = os.environ.get("STOCKFEATURES_REPO_DIR")
    if configured:
        return Path(configured).resolve()
    # Editable install / source checkout: src/stockfeatures/config.py -> repository root.
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    profile: str
    repo_dir: Path
    data_dir: Path
    pg_dsn: str
    redis_url: str
    benchmark_ticker: str
    project: str
    redis_cluster: RedisClusterSettings | None = None
    # Raw 5-minute bars older than this many days are deleted (TimescaleDB retention policy,
    # or `stockfeatures intraday-cleanup` on plain PostgreSQL and in `local`).
    intraday_retention_days: int = 90
    ray_address: str = DEFAULT_RAY_ADDRESS

    @property
    def uses_redis_cluster(self) -> bool:
        return self.redis_cluster is not None

    @property
    def feature_repo_dir(self) -> Path:
        return self.repo_dir / "feature_repo"

    @property
    def feature_store_yaml(self) -> Path:
        name = "feature_store.yaml" if self.profile == "local" else f"feature_store.{self.profile}.yaml"
        return self.feature_repo_dir / name

    @property
    def local_dir(self) -> Path:
        """Where the embedded profile keeps its parquet offline store, SQLite and registry."""
        return self.data_dir / "local"

    def feast_environment(self) -> dict[str, str]:
        """Variables that the feature_store.*.yaml files expand (Feast runs os.path.expandvars)."""
        pg = urlparse(self.pg_dsn)
        return {
            "STOCKFEATURES_PROFILE": self.profile,
            "FEAST_FS_YAML_FILE_PATH": str(self.feature_store_yaml),
            "STOCKFEATURES_PG_HOST": pg.hostname or "127.0.0.1",
            "STOCKFEATURES_PG_PORT": str(pg.port or 5432),
            "STOCKFEATURES_PG_DB": (pg.path or "/postgres").lstrip("/") or "postgres",
            "STOCKFEATURES_PG_USER": unquote(pg.username or "postgres"),
            "STOCKFEATURES_PG_PASSWORD": unquote(pg.password or ""),
            "STOCKFEATURES_PG_SSLMODE": parse_qs(pg.query).get("sslmode", ["prefer"])[0],
            "STOCKFEATURES_REDIS_CONNECTION": (
                self.redis_cluster.feast_connection() if self.redis_cluster
                else feast_redis_connection(self.redis_url)
            ),
            # The cluster profile's batch_engine (Feast's ray.engine) connects here.
            "STOCKFEATURES_RAY_ADDRESS": self.ray_address,
        }

    def export_feast_environment(self) -> None:
        """Make the yaml placeholders resolvable for Feast, overriding stale values."""
        os.environ.update(self.feast_environment())


@dataclass(frozen=True)
class RedisClusterSettings:
    """Where the `cluster` profile's Redis Cluster is: startup nodes and credentials.

    A cluster client needs only some reachable nodes (it discovers the rest with CLUSTER
    SLOTS), so a managed cluster is named by its configuration endpoint alone. There is no
    database number on a cluster (only db 0 exists), hence no URL form.
    """

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    ssl: bool = False

    def feast_connection(self) -> str:
        """Feast's redis_cluster form: `host:port,host:port[,username=U][,password=P][,ssl=true]`."""
        parts = [f"{host}:{port}" for host, port in self.nodes]
        if self.username:
            parts.append(f"username={self.username}")
        if self.password:
            parts.append(f"password={self.password}")
        if self.ssl:
            parts.append("ssl=true")
        return ",".join(parts)


def _cluster_nodes(text: str) -> tuple[tuple[str, int], ...]:
    nodes = []
    for item in (part.strip() for part in text.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError("STOCKFEATURES_REDIS_CLUSTER_NODES must list host:port pairs separated "
                              f"by commas (e.g. {DEFAULT_CLUSTER_NODES.split(',')[0]}), got {item!r}")
        nodes.append((host, int(port)))
    return tuple(nodes)


def _redis_cluster_settings() -> RedisClusterSettings:
    """The cluster profile's Redis settings, from STOCKFEATURES_REDIS_CLUSTER_* variables."""
    username = os.environ.get("STOCKFEATURES_REDIS_CLUSTER_USERNAME") or None
    password = os.environ.get("STOCKFEATURES_REDIS_CLUSTER_PASSWORD") or None
    if "," in (username or "") + (password or ""):
        raise ConfigError("STOCKFEATURES_REDIS_CLUSTER_USERNAME/PASSWORD: Feast's Redis connection "
                          "string cannot carry a ','; choose a password without commas")
    ssl = (os.environ.get("STOCKFEATURES_REDIS_CLUSTER_SSL") or "false").strip().lower()
    if ssl not in ("true", "false"):
        raise ConfigError(f"STOCKFEATURES_REDIS_CLUSTER_SSL must be true or false, got {ssl!r}")
    return RedisClusterSettings(
        nodes=_cluster_nodes(os.environ.get("STOCKFEATURES_REDIS_CLUSTER_NODES") or DEFAULT_CLUSTER_NODES),
        username=username, password=password, ssl=ssl == "true",
    )


def feast_redis_connection(redis_url: str) -> str:
    """Feast's `host:port,db=N[,username=U][,password=P][,ssl=true]` form of a redis(s):// URL.

    Feast splits that string on commas and passes each key to redis.Redis, so `rediss://`
    (TLS) becomes ssl=true; a comma inside a credential cannot be expressed and is refused
    when the settings are loaded.
    """
    redis = urlparse(redis_url)
    redis_db = (redis.path or "/0").lstrip("/") or "0"
    parts = [f"{redis.hostname or '127.0.0.1'}:{redis.port or 6379}", f"db={redis_db}"]
    if redis.username:
        parts.append(f"username={unquote(redis.username)}")
    if redis.password:
        parts.append(f"password={unquote(redis.password)}")
    if redis.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


def _checked_redis_url(redis_url: str) -> str:
    if not redis_url.startswith(REDIS_SCHEMES):
        raise ConfigError(
            f"STOCKFEATURES_REDIS_URL must be a redis:// or rediss:// (TLS) URL, got {redact(redis_url)!r}"
        )
    parsed = urlparse(redis_url)
    credentials = unquote(parsed.username or "") + unquote(parsed.password or "")
    if "," in credentials:
        raise ConfigError("STOCKFEATURES_REDIS_URL: Feast's Redis connection string cannot carry a "
                          "',' in the user name or password; choose a password without commas")
    try:
        parsed.port  # noqa: B018 - urlparse checks the port only when asked
    except ValueError:
        raise ConfigError(f"STOCKFEATURES_REDIS_URL has a bad port: {redact(redis_url)!r}") from None
    return redis_url


INTRADAY_RETENTION_ENV = "STOCKFEATURES_INTRADAY_RETENTION_DAYS"


def _intraday_retention_days() -> int:
    text = (os.environ.get(INTRADAY_RETENTION_ENV) or "90").strip()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{INTRADAY_RETENTION_ENV} must be a whole number of days >= 1, got {text!r}")
    return int(text)


def _checked_ray_address(address: str) -> str:
    """host:port of a Ray head (GCS), ray://host:port (Ray Client, e.g. a KubeRay head
    service) or `auto` (the cluster `ray start` left on this machine)."""
    address = address.strip()
    if address == "auto" or address.startswith("ray://"):
        return address
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "/" in address or " " in address:
        raise ConfigError("STOCKFEATURES_RAY_ADDRESS must be host:port of a Ray head node "
                          f"(e.g. {DEFAULT_RAY_ADDRESS}), ray://host:port or auto, got {address!r}")
    if port == "6379" and host in ("127.0.0.1", "localhost"):
        raise ConfigError("STOCKFEATURES_RAY_ADDRESS points at 127.0.0.1:6379, Redis' port; "
                          f"infra/ray-cluster.sh starts the Ray head on {DEFAULT_RAY_ADDRESS}")
    return address


def _profile_of_feast_yaml() -> str:
    """A user who selected feature_store.prod.yaml for the Feast CLI means the prod profile."""
    yaml_path = os.environ.get("FEAST_FS_YAML_FILE_PATH", "")
    name = Path(yaml_path).name
    if name.startswith("feature_store.") and name.count(".") == 2:
        return name.split(".")[1]
    return "local"


def load_settings(profile: str | None = None) -> Settings:
    """Read settings; `profile` overrides STOCKFEATURES_PROFILE (default `local`)."""
    chosen = (profile or os.environ.get("STOCKFEATURES_PROFILE") or _profile_of_feast_yaml()).strip().lower()
    if chosen not in PROFILES:
        raise ConfigError(
            f"STOCKFEATURES_PROFILE={chosen!r} is not a profile; use one of {', '.join(PROFILES)}"
        )
    repo_dir = _repo_dir()
    # Data lives beside the feature repo because the local yaml points there relatively
    # (../data/local): set STOCKFEATURES_REPO_DIR to move both together.
    data_dir = repo_dir / "data"
    pg_dsn = os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"
    if not pg_dsn.startswith(PG_SCHEMES):
        raise ConfigError(f"STOCKFEATURES_PG_DSN must be a postgresql:// URL (no driver suffix such "
                          f"as +psycopg), got {redact(pg_dsn)!r}")
    redis_url = _checked_redis_url(os.environ.get("STOCKFEATURES_REDIS_URL") or "redis://127.0.0.1:6379/0")
    benchmark = (os.environ.get("STOCKFEATURES_BENCHMARK_TICKER") or "SPY").strip().upper()
    return Settings(
        profile=chosen,
        repo_dir=repo_dir,
        data_dir=data_dir,
        pg_dsn=pg_dsn,
        redis_url=redis_url,
        benchmark_ticker=benchmark,
        project="stockfeatures",
        redis_cluster=_redis_cluster_settings() if chosen == "cluster" else None,
        intraday_retention_days=_intraday_retention_days(),
        ray_address=_checked_ray_address(os.environ.get("STOCKFEATURES_RAY_ADDRESS") or DEFAULT_RAY_ADDRESS),
    )
