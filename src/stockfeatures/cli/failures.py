"""Foreseeable failures turned into one or two lines: what is wrong, then what to run.

The CLI prints these instead of a traceback (which `-v` still shows). Exceptions are matched
by walking the cause chain (Feast wraps SQLAlchemy, which wraps psycopg) and by class name
for libraries that are not imported yet: the error path must not import Feast or redis just
to find out that the error did not come from them. Every message goes through `redact`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import urlparse

from stockfeatures.config import ConfigError, Settings
from stockfeatures.redaction import redact

NOT_APPLIED = {"FeatureViewNotFoundException", "FeatureServiceNotFoundException",
               "OnDemandFeatureViewNotFoundException", "EntityNotFoundException",
               "ProjectNotFoundException", "ProjectObjectNotFoundException"}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and SQLAlchemy's `.orig` driver errors."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _is(error: BaseException, module: str, name: str) -> bool:
    """isinstance(error, module.name), False when that module was never imported."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded else None
    return isinstance(cls, type) and isinstance(error, cls)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _listed(items: list[str], limit: int) -> str:
    return "; ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _prefix(settings: Settings | None) -> str:
    return "stockfeatures" if settings is None or settings.profile == "local" \
        else f"stockfeatures --profile {settings.profile}"


def _pg_unreachable(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if _is(link, "psycopg_pool", "PoolTimeout") or (
                _is(link, "psycopg", "OperationalError") and "connection" in str(link).lower()):
            where = redact(settings.pg_dsn) if settings else "STOCKFEATURES_PG_DSN"
            reason = "connection refused" if "refused" in str(link).lower() else _first_line(link)
            return (f"PostgreSQL is unreachable at {where} ({redact(reason)}).\n"
                    "Start the server, or set STOCKFEATURES_PG_DSN to one that answers.")
    return None


def _not_migrated(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if _is(link, "psycopg.errors", "UndefinedTable"):
            database = urlparse(settings.pg_dsn).path.lstrip("/") if settings else "the database"
            return (f"the offline store is not set up in {database or 'postgres'}: "
                    f"{redact(_first_line(link))}.\nRun `{_prefix(settings)} migrate` first.")
    return None


def _not_applied(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if type(link).__name__ in NOT_APPLIED and type(link).__module__.startswith("feast"):
            profile = settings.profile if settings else "this"
            return (f"the Feast registry of the {profile} profile lacks a definition: "
                    f"{redact(_first_line(link))}.\nRun `{_prefix(settings)} apply` first.")
    return None


def _redis_unreachable(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if _is(link, "redis.exceptions", "ConnectionError") or _is(link, "redis.exceptions", "TimeoutError"):
            if settings is not None and settings.redis_cluster is not None:
                nodes = ",".join(f"{host}:{port}" for host, port in settings.redis_cluster.nodes)
                return (f"the Redis Cluster at {nodes} is unreachable ({redact(_first_line(link))}).\n"
                        "Start it (infra/redis-cluster.sh start), or set "
                        "STOCKFEATURES_REDIS_CLUSTER_NODES to nodes that answer.")
            where = redact(settings.redis_url) if settings else "STOCKFEATURES_REDIS_URL"
            return (f"Redis is unreachable at {where} ({redact(_first_line(link))}).\n"
                    "Start Redis, or set STOCKFEATURES_REDIS_URL to one that answers.")
    return None


def _validation_failed(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if _is(link, "stockfeatures.validation.errors", "ValidationFailed"):
            rules = sorted({outcome.rule for outcome in link.failures})
            tickers = link.tickers
            where = (f"{settings.local_dir / 'quarantine.parquet'}" if settings and settings.profile == "local"
                     else "the quarantine table")
            stored = link.checked - len(link.rows)
            return (f"{link.suite}: {len(link.rows)} of {link.checked} rows rejected "
                    f"({_listed(rules, 3)}); tickers {_listed(tickers, 8) or 'none'}.\n"
                    f"The rejected rows are in {where}; {stored or 'no'} other rows were stored. "
                    "Fix the input and run the command again (-v shows each expectation).")
    return None


def _missing_file(error: BaseException, settings: Settings | None) -> str | None:
    for link in _chain(error):
        if isinstance(link, FileNotFoundError):
            name = link.filename or _first_line(link)
            return f"file not found: {name}\nCheck the path (relative paths start at the current directory)."
    return None


_FORESEEN = (_pg_unreachable, _not_migrated, _not_applied, _redis_unreachable,
             _validation_failed, _missing_file)


def explain(error: BaseException, settings: Settings | None) -> str | None:
    """One or two lines for a failure the CLI foresees; None for anything else (a bug)."""
    for rule in _FORESEEN:
        message = rule(error, settings)
        if message:
            return message
    if isinstance(error, ConfigError | ValueError | LookupError | OSError) or _is(
            error, "stockfeatures.storage.errors", "StorageError"):
        text = error.args[0] if isinstance(error, KeyError) and error.args else error
        return redact(str(text).strip())
    return None
