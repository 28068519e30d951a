"""What each `stockfeatures` command does once its arguments are parsed.

Every heavy import (Feast, pandas, Prefect, the stores) happens inside the command that
needs it, so `docs` and `env` stay fast and `--help` never gets here.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, timedelta

from stockfeatures.config import Settings
from stockfeatures.progress import Progress
from stockfeatures.quiet import restate_filters_after_feast
from stockfeatures.serving.commands import SERVING_COMMANDS, run_serving_command


class UsageError(ValueError):
    """Options that parse but do not make sense together; exits 2 like an argparse error."""


def _env(settings: Settings) -> int:
    for key, value in settings.feast_environment().items():
        print(f"export {key}={value!r}")
    return 0


def _docs(args: argparse.Namespace, settings: Settings) -> int:
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


def _migrate_line(report) -> str:
    """'migrate: applied 0001_prices.sql, ...; 15 feature columns added' (or 'up to date')."""
    applied = getattr(report, "applied", None)
    if applied is None:
        return f"migrate: local store ready at {report}"
    parts = [f"applied {', '.join(applied)}" if applied else "schema up to date"]
    added = getattr(report, "feature_columns_added", ())
    if added:
        parts.append(f"{len(added)} feature columns added")
    return "migrate: " + "; ".join(parts)


def _intraday_cleanup(args: argparse.Namespace, settings: Settings, warehouse) -> int:
    """Retention of raw 5-minute bars where no TimescaleDB policy runs it (features stay)."""
    import pandas as pd

    days = settings.intraday_retention_days if args.retention_days is None else args.retention_days
    if not 1 <= days <= 36_500:
        raise UsageError(f"--retention-days must be between 1 and 36500 (100 years), got {days}")
    cutoff = pd.Timestamp.now(tz=UTC).floor("D") - pd.Timedelta(days=days)
    deleted = warehouse.delete_intraday_bars_before(cutoff)
    print(f"intraday-cleanup: deleted {deleted} raw 5-minute bar rows that ended before "
          f"{cutoff.date()} (retention {days} days); intraday features are kept")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings, warehouse, progress: Progress) -> int:
    from stockfeatures.prices.source import get_source
    from stockfeatures.stages.ingest import ingest
    from stockfeatures.universe import load_universe

    if args.source == "csv" and not args.path:
        raise UsageError("ingest --source csv needs --path FILE")
    if args.path and args.source != "csv":
        raise UsageError(f"--path is only read with --source csv (got --source {args.source})")
    if args.adjusted and args.source != "csv":
        raise UsageError("ingest --adjusted applies to --source csv only")
    options = {"path": args.path, "adjusted": args.adjusted} if args.source == "csv" else {}
    tickers = args.tickers
    if tickers is None and args.source == "yfinance":
        tickers = load_universe(settings)
    warehouse.migrate()
    result = ingest(get_source(args.source, **options), warehouse, tickers, args.start, args.end,
                    known_at=args.known_at, progress=progress)
    print(result.line())
    failed = result.gate.error()
    if failed is not None:
        from stockfeatures.cli.failures import explain

        print(f"stockfeatures ingest: {explain(failed, settings)}", file=sys.stderr)
        return 2
    return 0


def _features(args: argparse.Namespace, store) -> int:
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


def run_command(args: argparse.Namespace, settings: Settings, progress: Progress) -> int:
    if args.command in SERVING_COMMANDS:
        if args.command == "warm-up":
            restate_filters_after_feast()
        return run_serving_command(args, settings, progress=progress)
    if args.command == "env":
        return _env(settings)
    if args.command == "docs":
        return _docs(args, settings)
    if args.command == "demo":
        # The demo is the production path on sample data: the Prefect flows, run ephemerally.
        from pipelines.demo import run_demo_flows

        restate_filters_after_feast()
        run_demo_flows(settings.profile)
        return 0

    from stockfeatures import jobs
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.stages import compute, materialize

    if args.command == "apply":
        print(jobs.apply_definitions(settings))
        return 0
    warehouse = open_warehouse(settings)
    try:
        if args.command == "migrate":
            print(_migrate_line(warehouse.migrate()))
            return 0
        if args.command == "intraday-cleanup":
            return _intraday_cleanup(args, settings, warehouse)
        if args.command == "ingest":
            return _ingest(args, settings, warehouse, progress)
        if args.command == "compute":
            print(compute.compute(warehouse, settings.benchmark_ticker, args.start, args.end,
                               progress=progress).line())
            return 0
        restate_filters_after_feast()
        store = open_feature_store(settings)
        if args.command == "materialize":
            end = args.end or compute.latest_event_timestamp(warehouse).to_pydatetime() + timedelta(seconds=1)
            start = args.start or end - timedelta(days=14)
            materialize.materialize(store, start, end, progress=progress)
            print(f"materialized {start.isoformat()} .. {end.isoformat()}")
            return 0
        if args.command == "features":
            return _features(args, store)
    finally:
        warehouse.close()
    raise AssertionError(f"unhandled command {args.command}")
