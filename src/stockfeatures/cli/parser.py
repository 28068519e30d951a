"""The `stockfeatures` argument parser: standard library only, so `--help` answers at once.

Nothing here may import Feast, Great Expectations, Prefect, pandas or the serving stack
(tests/unit/test_cli.py checks sys.modules after `--help`): they cost 5-50 s to import, and
parsing arguments needs none of them. Commands import what they need when they run.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

from stockfeatures.config import PROFILES
from stockfeatures.serving.commands import add_serving_commands

DESCRIPTION = "stockfeatures: every batch step, the demo, docs and the Feast environment."
INGEST_SOURCES = ("sample", "csv", "yfinance")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _timestamp(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO timestamp") from None
    if stamp.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; write e.g. 2025-06-30T20:00:00+00:00")
    return stamp


class _Subcommands:
    """add_subparsers() wrapper that gives every subcommand the common options."""

    def __init__(self, subparsers, common: argparse.ArgumentParser) -> None:
        self._subparsers, self._common = subparsers, common

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        return self._subparsers.add_parser(name, parents=[self._common], **kwargs)


def _common_options() -> argparse.ArgumentParser:
    # --profile and -v work before or after the subcommand (`stockfeatures env --profile prod`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", choices=PROFILES, default=argparse.SUPPRESS,
                        help="overrides STOCKFEATURES_PROFILE (default local)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log at INFO level, show library warnings and full tracebacks")
    return common


def _add_batch_commands(commands: _Subcommands) -> None:
    commands.add_parser("demo", help="run the whole flow on sample data and print features")
    commands.add_parser("migrate", help="create or upgrade the offline tables (idempotent)")
    commands.add_parser("apply", help="run `feast apply` on feature_repo/ for the profile")

    ingest = commands.add_parser("ingest", help="load daily bars from a price source")
    ingest.add_argument("--source", choices=INGEST_SOURCES, default="sample",
                        help="where bars come from (default sample); yfinance fetches the "
                             "configured universe unless --tickers is given")
    ingest.add_argument("--path", type=Path, help="CSV file (with --source csv); see docs/csv-format.md")
    ingest.add_argument("--tickers", nargs="+", help="restrict to these tickers")
    ingest.add_argument("--start", type=_date,
                        help="first session to load, YYYY-MM-DD; default: all the source has "
                             "(a CSV's whole file)")
    ingest.add_argument("--end", type=_date,
                        help="last session to load, YYYY-MM-DD; default: all the source has")
    ingest.add_argument("--known-at", type=_timestamp,
                        help="when this data became known (ISO, with timezone); default now. A changed "
                             "stored bar becomes a new version known then; bars not closed by then are "
                             "refused (docs/data-integrity.md)")
    ingest.add_argument("--adjusted", action="store_true",
                        help="(--source csv) prices already adjusted by the vendor for splits and "
                             "dividends; no dividend/split values allowed (docs/data-integrity.md)")

    compute = commands.add_parser("compute", help="compute features from stored bars")
    compute.add_argument("--start", type=_date, help="first session to (re)compute; default all")
    compute.add_argument("--end", type=_date, help="last session to compute; default all")

    materialize = commands.add_parser("materialize", help="load latest features into the online store")
    materialize.add_argument("--start", type=_timestamp, help="ISO timestamp with zone; default: 14 days before --end")
    materialize.add_argument("--end", type=_timestamp, help="ISO timestamp with zone; default: the newest stored feature row")


def _add_intraday_commands(commands: _Subcommands) -> None:
    cleanup = commands.add_parser(
        "intraday-cleanup",
        help="delete raw 5-minute bars older than the retention (plain PostgreSQL and local; "
             "TimescaleDB does it by policy)")
    cleanup.add_argument("--retention-days", type=int,
                         help="keep this many days of raw bars; default "
                              "STOCKFEATURES_INTRADAY_RETENTION_DAYS (90)")


def _add_read_commands(commands: _Subcommands) -> None:
    features = commands.add_parser("features", help="print features for tickers (online, or as of a time)")
    features.add_argument("tickers", nargs="+", help="one or more tickers, e.g. AAPL MSFT")
    which = features.add_mutually_exclusive_group()
    which.add_argument("--service", help="feature service, e.g. momentum_v1")
    which.add_argument("--features", nargs="+", help="feature names, e.g. ret_5d vol_20d")
    features.add_argument("--as-of", type=_timestamp, help="point-in-time read as known at this instant")

    docs = commands.add_parser("docs", help="regenerate docs/features.md from FeatureSpec")
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")

    commands.add_parser("env", help="print shell exports that let the Feast CLI use the profile")


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="stockfeatures", description=DESCRIPTION, parents=[common])
    commands = _Subcommands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
                            common)
    _add_batch_commands(commands)
    _add_intraday_commands(commands)
    _add_read_commands(commands)
    add_serving_commands(commands)
    return parser
