"""`stockfeatures` command line: every batch step, the demo, docs and Feast environment."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stockfeatures.config import PROFILES, ConfigError, load_settings
from stockfeatures.serving.commands import (
    SERVING_COMMANDS,
    add_serving_commands,
    run_serving_command,
)
from stockfeatures.storage.errors import StorageError


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
        return self._subparsers.add_parser(name, parents=[self._common], **kwargs)


def _parser() -> argparse.ArgumentParser:
    # --profile and -v work before or after the subcommand (`stockfeatures env --profile prod`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", choices=PROFILES, default=argparse.SUPPRESS,
                        help="overrides STOCKFEATURES_PROFILE (default local)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log at INFO level")
    parser = argparse.ArgumentParser(prog="stockfeatures", description=__doc__, parents=[common])
    commands = _Subcommands(parser.add_subparsers(dest="command", required=True), common)

    commands.add_parser("demo", help="run the whole flow on sample data and print features")
    commands.add_parser("migrate", help="create or upgrade the offline tables (idempotent)")
    commands.add_parser("apply", help="run `feast apply` on feature_repo/ for the profile")

    ingest = commands.add_parser("ingest", help="load daily bars from a price source")
    ingest.add_argument("--source", choices=("sample", "csv", "yfinance"), default="sample",
                        help="yfinance fetches the configured universe unless --tickers is given")
    ingest.add_argument("--path", type=Path, help="CSV file (with --source csv); see docs/csv-format.md")
    ingest.add_argument("--tickers", nargs="+", help="restrict to these tickers")
    ingest.add_argument("--start", type=_date,
                        help="first session to load; default: all the source has (a CSV's whole file)")
    ingest.add_argument("--end", type=_date, help="last session to load; default: all the source has")
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
    materialize.add_argument("--start", type=_timestamp, help="default: 14 days before --end")
    materialize.add_argument("--end", type=_timestamp, help="default: the newest stored feature row")

    features = commands.add_parser("features", help="print features for tickers (online, or as of a time)")
    features.add_argument("tickers", nargs="+")
    which = features.add_mutually_exclusive_group()
    which.add_argument("--service", help="feature service, e.g. momentum_v1")
    which.add_argument("--features", nargs="+", help="feature names, e.g. ret_5d vol_20d")
    features.add_argument("--as-of", type=_timestamp, help="point-in-time read as known at this instant")

    docs = commands.add_parser("docs", help="regenerate docs/features.md from FeatureSpec")
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")

    commands.add_parser("env", help="print shell exports that let the Feast CLI use the profile")
    add_serving_commands(commands)
    return parser


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args.profile)
    if args.command in SERVING_COMMANDS:
        return run_serving_command(args, settings)
    if args.command == "env":
        for key, value in settings.feast_environment().items():
            print(f"export {key}={value!r}")
        return 0
    if args.command == "docs":
        from stockfeatures import feature_docs

        path = settings.repo_dir / "docs" / "features.md"
        if args.check:
            current = path.read_text() if path.exists() else ""
            if current != feature_docs.render():
                print(f"{path} is out of date: run `stockfeatures docs`", file=sys.stderr)
                return 1
            return 0
        print(f"{path}: {'updated' if feature_docs.write(path) else 'already up to date'}")
        return 0
    if args.command == "demo":
        # The demo is the production path on sample data: the Prefect flows, run ephemerally.
        from pipelines.demo import run_demo_flows

        run_demo_flows(settings.profile)
        return 0

    from stockfeatures import jobs
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.stages import compute, materialize

    if args.command == "apply":
        print(jobs.apply_definitions(settings))
        return 0
    warehouse = open_warehouse(settings)
    if args.command == "migrate":
        print(warehouse.migrate())
        return 0
    if args.command == "ingest":
        from stockfeatures.prices.source import get_source
        from stockfeatures.stages.ingest import ingest
        from stockfeatures.universe import load_universe

        if args.source == "csv" and not args.path:
            raise SystemExit("ingest --source csv needs --path FILE")
        if args.adjusted and args.source != "csv":
            raise SystemExit("ingest --adjusted applies to --source csv only")
        options = {"path": args.path, "adjusted": args.adjusted} if args.source == "csv" else {}
        tickers = args.tickers
        if tickers is None and args.source == "yfinance":
            tickers = load_universe(settings)
        warehouse.migrate()
        result = ingest(get_source(args.source, **options), warehouse, tickers, args.start, args.end,
                        known_at=args.known_at)
        print(result.line())
        failed = result.gate.error()
        if failed is not None:
            print(f"{len(result.gate.rejected)} rows went to the quarantine (stage raw_prices), the rest "
                  f"was stored:\n{failed}", file=sys.stderr)
            return 1
        return 0
    if args.command == "compute":
        print(compute.compute(warehouse, settings.benchmark_ticker, args.start, args.end).line())
        return 0
    store = open_feature_store(settings)
    if args.command == "materialize":
        end = args.end or compute.latest_event_timestamp(warehouse).to_pydatetime() + timedelta(seconds=1)
        start = args.start or end - timedelta(days=14)
        materialize.materialize(store, start, end)
        print(f"materialized {start.isoformat()} .. {end.isoformat()}")
        return 0
    if args.command == "features":
        import pandas as pd

        from stockfeatures.retrieval import historical_features, online_features

        if args.as_of:
            entity_df = pd.DataFrame({"ticker": [t.upper() for t in args.tickers],
                                      "event_timestamp": pd.Timestamp(args.as_of).tz_convert(UTC)})
            frame = historical_features(store, entity_df, args.features, args.service)
        else:
            frame = online_features(store, args.tickers, args.features, args.service)
        print(frame.to_string(index=False))
        return 0
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Not set_defaults(): the parent's actions are shared with every subcommand's parser.
    args.profile = getattr(args, "profile", None)
    args.verbose = getattr(args, "verbose", False)
    # ibis (under Feast's DuckDB store) calls a DuckDB API that DuckDB 2 deprecates: noise for users.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ibis\..*")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except (ConfigError, StorageError, ValueError, LookupError, OSError) as error:
        print(f"stockfeatures {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
