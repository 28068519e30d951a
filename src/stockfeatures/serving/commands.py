"""`stockfeatures serve` and `stockfeatures warm-up` (registered by stockfeatures.cli).

Kept beside the serving code; imports nothing beyond the standard library at module level,
because the CLI's argument parser imports this module for every command, `--help` included.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockfeatures.config import Settings
    from stockfeatures.progress import Progress

SERVING_COMMANDS = ("serve", "warm-up")


def add_serving_commands(subparsers) -> None:
    """Add the two commands to an add_subparsers() object (or the CLI's wrapper of one)."""
    serve = subparsers.add_parser("serve", help="run the HTTP feature server (infra/serve.sh wraps it)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=6566, help="TCP port to listen on (default 6566)")
    serve.add_argument("--workers", "-w", type=int, default=2,
                       help="worker processes (default 2; about one per core)")
    warm = subparsers.add_parser("warm-up", help="load the latest features into the online store")
    warm.add_argument("--tickers", nargs="+", help="only these tickers (default: the whole universe)")


def run_serving_command(args: argparse.Namespace, settings: Settings,
                        progress: Progress | None = None) -> int:
    if args.command == "serve":
        from stockfeatures.serving.run import run_server

        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}")
        run_server(settings, args.host, args.port, args.workers)
        return 0
    if args.command == "warm-up":
        from stockfeatures.serving import warm_up

        print(warm_up(settings, args.tickers, progress=progress).line())
        return 0
    raise ValueError(f"not a serving command: {args.command}")
