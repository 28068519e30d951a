"""`stockfeatures serve` and `stockfeatures warm-up`, for the lead to wire into cli.py:

    from stockfeatures.serving.commands import add_serving_commands, run_serving_command
    add_serving_commands(commands)                     # in _parser()
    if args.command in SERVING_COMMANDS:               # in _run(), after load_settings
        return run_serving_command(args, settings)
"""

from __future__ import annotations

import argparse

from stockfeatures.config import Settings

SERVING_COMMANDS = ("serve", "warm-up")


def add_serving_commands(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP feature server (infra/serve.sh wraps it)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=6566)
    serve.add_argument("--workers", "-w", type=int, default=2,
                       help="worker processes (default 2; about one per core)")
    warm = subparsers.add_parser("warm-up", help="load the latest features into the online store")
    warm.add_argument("--tickers", nargs="+", help="only these tickers (default: the whole universe)")


def run_serving_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from stockfeatures.serving.run import run_server

        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}")
        run_server(settings, args.host, args.port, args.workers)
        return 0
    if args.command == "warm-up":
        from stockfeatures.serving.warm_up import warm_up

        print(warm_up(settings, args.tickers).line())
        return 0
    raise ValueError(f"not a serving command: {args.command}")


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m stockfeatures.serving.commands serve ...`) used by
    infra/serve.sh, so the server starts the same way before and after cli.py wiring."""
    import logging

    from stockfeatures.config import PROFILES, load_settings

    parser = argparse.ArgumentParser(prog="stockfeatures-serving")
    parser.add_argument("--profile", choices=PROFILES)
    add_serving_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_serving_command(args, load_settings(args.profile))


if __name__ == "__main__":
    raise SystemExit(main())
