"""docker-compose.yml as data: services, memory limits and the variables it reads from .env."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.unit.infra.monitoring_config import COMPOSE_FILE, ENV_EXAMPLE

_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_BRACED = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}")
_BARE = re.compile(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)")
_ENV_LINE = re.compile(r"^\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    return yaml.safe_load(path.read_text())


def services(compose: dict | None = None) -> dict[str, dict]:
    return (compose or load_compose())["services"]


def memory_bytes(value: str | int) -> int:
    """Docker's memory notation (binary units: 512m = 512 MiB) in bytes."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmg])?b?\s*", str(value).lower())
    if not match:
        raise ValueError(f"{value!r} is not a Docker memory size such as 512m or 1g")
    return int(float(match.group(1)) * _UNITS[match.group(2) or "b"])


def memory_limit(service: dict) -> int | None:
    limit = service.get("mem_limit") or (
        service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
    return memory_bytes(limit) if limit is not None else None


def referenced_variables(text: str) -> dict[str, bool]:
    """Variable name -> whether compose refuses to start without it (${VAR:?...})."""
    found: dict[str, bool] = {}
    for match in _BRACED.finditer(text):
        required = bool(match.group(2)) and match.group(2).lstrip(":").startswith("?")
        found[match.group(1)] = found.get(match.group(1), False) or required
    for match in _BARE.finditer(_BRACED.sub("", text)):
        found.setdefault(match.group(1), False)
    return found


def documented_variables(path: Path = ENV_EXAMPLE) -> dict[str, bool]:
    """Variable name -> whether .env.example sets it (True) or only mentions it commented out."""
    documented: dict[str, bool] = {}
    for match in _ENV_LINE.finditer(path.read_text()):
        documented[match.group(2)] = documented.get(match.group(2), False) or not match.group(1)
    return documented


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}
