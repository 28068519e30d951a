"""The tickers the scheduled flows maintain: configuration, not code.

The list lives in a text file (config/universe.txt by default, STOCKFEATURES_UNIVERSE_FILE to
swap it), so adding a ticker is a one-line change reviewed like any other config. The
benchmark ticker is always part of the universe: beta_60d is measured against it, and a
universe without it would silently turn that feature into NaN.
"""

from __future__ import annotations

import os
from pathlib import Path

from stockfeatures.config import Settings, load_settings
from stockfeatures.prices.tickers import InvalidTicker, validate_ticker

UNIVERSE_ENV = "STOCKFEATURES_UNIVERSE_FILE"
_PACKAGED_DEFAULT = Path(__file__).resolve().parents[2] / "config" / "universe.txt"


class UniverseError(ValueError):
    """The universe file is missing or holds something that is not a ticker."""


def universe_file(settings: Settings | None = None) -> Path:
    """The configured file: the env variable, else config/universe.txt of the repo or checkout."""
    configured = os.environ.get(UNIVERSE_ENV)
    if configured:
        return Path(configured)
    settings = settings or load_settings()
    in_repo = settings.repo_dir / "config" / "universe.txt"
    return in_repo if in_repo.exists() else _PACKAGED_DEFAULT


def parse_universe(text: str, source: str = "<text>") -> list[str]:
    """Tickers in file order, repeats dropped; every bad line is named in one error."""
    tickers: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            tickers.append(validate_ticker(value))
        except InvalidTicker as error:
            problems.append(f"line {number}: {error}")
    if problems:
        raise UniverseError(f"{source}: " + "; ".join(problems))
    if not tickers:
        raise UniverseError(f"{source}: no tickers (one per line, '#' starts a comment)")
    return list(dict.fromkeys(tickers))


def load_universe(settings: Settings | None = None, path: Path | None = None) -> list[str]:
    """The universe, with the benchmark ticker first if the file forgot it."""
    settings = settings or load_settings()
    path = path or universe_file(settings)
    if not path.exists():
        raise UniverseError(f"universe file {path} does not exist; set {UNIVERSE_ENV} or create it")
    tickers = parse_universe(path.read_text(), str(path))
    return with_benchmark(tickers, settings.benchmark_ticker)


def with_benchmark(tickers: list[str], benchmark: str) -> list[str]:
    return tickers if benchmark in tickers else [benchmark, *tickers]
