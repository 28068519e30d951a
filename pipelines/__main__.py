"""`python -m pipelines <command>`: run a flow once, serve the deployments, or run the demo.

    python -m pipelines daily-update [--source yfinance] [--tickers A B] [--as-of ISO]
    python -m pipelines backfill --start 2021-01-04 --end 2025-12-31 [--tickers A B]
    python -m pipelines warm-up
    python -m pipelines serve                 # long-running; needs PREFECT_API_URL
    python -m pipelines demo                  # sample data through the flows, ephemeral
Exit status 1 when a run ends incomplete (some tickers failed); the message names them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="overrides STOCKFEATURES_PROFILE")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show Prefect's INFO logs, library warnings and tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    daily = commands.add_parser("daily-update")
    daily.add_argument("--source", default="yfinance")
    daily.add_argument("--tickers", nargs="+")
    daily.add_argument("--as-of", type=datetime.fromisoformat)
    daily.add_argument("--refetch-sessions", type=int, default=10)
    daily.add_argument("--no-materialize", action="store_true")
    fill = commands.add_parser("backfill")
    fill.add_argument("--start", type=date.fromisoformat, required=True)
    fill.add_argument("--end", type=date.fromisoformat, required=True)
    fill.add_argument("--tickers", nargs="+")
    fill.add_argument("--source", default="yfinance")
    fill.add_argument("--chunk-size", type=int, default=25)
    fill.add_argument("--no-resume", action="store_true")
    fill.add_argument("--apply", action="store_true", help="run feast apply before materializing")
    warm = commands.add_parser("warm-up")
    warm.add_argument("--tickers", nargs="+")
    serve = commands.add_parser("serve")
    serve.add_argument("--source", default="yfinance")
    commands.add_parser("demo")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from stockfeatures.quiet import configure_output

    configure_output(args.verbose)
    from pipelines.reports import RunIncomplete
    from stockfeatures.cli.failures import explain
    from stockfeatures.progress import progress_reporter, showing

    if getattr(args, "source", None):
        from stockfeatures.prices.source import source_names

        if args.source not in source_names():
            print(f"python -m pipelines {args.command}: error: unknown --source {args.source!r}; "
                  f"known: {', '.join(source_names())}", file=sys.stderr)
            return 2
    try:
        if args.command == "daily-update":
            from pipelines.daily_update import daily_update

            print(daily_update(profile=args.profile, source=args.source, tickers=args.tickers,
                               as_of=args.as_of, refetch_sessions=args.refetch_sessions,
                               materialize=not args.no_materialize).headline())
        elif args.command == "backfill":
            from pipelines.backfill import backfill

            with progress_reporter() as progress, showing(progress):
                summary = backfill(args.start, args.end, tickers=args.tickers, profile=args.profile,
                                   source=args.source, chunk_size=args.chunk_size,
                                   resume=not args.no_resume, apply_definitions=args.apply)
            print(summary.headline())
        elif args.command == "warm-up":
            from pipelines.warm_up import warm_up

            print(warm_up(profile=args.profile, tickers=args.tickers))
        elif args.command == "serve":
            from pipelines.serve import serve_deployments

            serve_deployments(args.profile, args.source)
        elif args.command == "demo":
            from pipelines.demo import run_demo_flows

            run_demo_flows(args.profile)
    except RunIncomplete as incomplete:
        print(f"run incomplete: {incomplete}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - foreseen failures in one line, bugs with a traceback
        message = explain(error, None)
        if message is None or args.verbose:
            raise
        print(f"python -m pipelines {args.command}: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
