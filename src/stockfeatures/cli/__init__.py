"""`stockfeatures` command line: every batch step, the demo, docs and Feast environment.

Three rooms: `parser` (standard library only, so `--help` is instant), `commands` (what
each command does, importing its libraries lazily) and `failures` (foreseeable errors as one
or two actionable lines with exit status 2; `-v` shows the traceback instead).
"""

from __future__ import annotations

import sys
import traceback

from stockfeatures.cli.parser import build_parser
from stockfeatures.config import ConfigError, load_settings
from stockfeatures.redaction import redact

EXIT_FORESEEN_FAILURE = 2
LONG_COMMANDS = ("ingest", "compute", "materialize", "warm-up")

__all__ = ["EXIT_FORESEEN_FAILURE", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Not set_defaults(): the parent's actions are shared with every subcommand's parser.
    args.profile = getattr(args, "profile", None)
    args.verbose = getattr(args, "verbose", False)

    from stockfeatures.cli.commands import UsageError, run_command
    from stockfeatures.cli.failures import explain
    from stockfeatures.progress import progress_reporter
    from stockfeatures.quiet import configure_output

    configure_output(args.verbose)
    settings = None
    try:
        settings = load_settings(args.profile)
        with progress_reporter(sys.stderr, enabled=args.command in LONG_COMMANDS) as progress:
            return run_command(args, settings, progress)
    except UsageError as error:
        print(f"stockfeatures {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FORESEEN_FAILURE
    except KeyboardInterrupt:
        print(f"stockfeatures {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - sorted into foreseen (2 lines) and bugs below
        message = explain(error, settings) if not isinstance(error, ConfigError) else redact(error)
        if args.verbose or message is None:
            lines = traceback.format_exception(error)
            print(redact("".join(lines)).rstrip(), file=sys.stderr)
        if message is None:
            return 1
        print(f"stockfeatures {args.command}: {message}", file=sys.stderr)
        return EXIT_FORESEEN_FAILURE


if __name__ == "__main__":
    sys.exit(main())
