"""`python -m stockfeatures.validation suite [--check]` | `docs [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stockfeatures.validation import feature_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stockfeatures.validation")
    commands = parser.add_subparsers(dest="command", required=True)
    suite = commands.add_parser("suite", help="write expectations/features_daily.json and features_intraday.json from the specs")
    suite.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    docs = commands.add_parser("docs", help="validate the latest stored window and build Data Docs")
    docs.add_argument("--out", type=Path, help="site folder (default: data/data_docs)")
    docs.add_argument("--profile", help="overrides STOCKFEATURES_PROFILE")
    args = parser.parse_args(argv)
    if args.command == "suite":
        daily = feature_suite.main(["--check"] if args.check else [])
        return max(daily, _intraday_suite(args.check))
    from stockfeatures.config import load_settings
    from stockfeatures.validation.data_docs import build_data_docs, latest_frames

    settings = load_settings(args.profile)
    out = args.out or settings.data_dir / "data_docs"
    index = build_data_docs(latest_frames(settings), out, settings.data_dir / "gx")
    print(f"Data Docs: {index}")
    return 0


def _intraday_suite(check: bool) -> int:
    """expectations/features_intraday.json, from IntradayFeatureSpec (stockfeatures.intraday)."""
    from stockfeatures.intraday import validation as intraday
    from stockfeatures.validation.suites import expectations_dir

    path = expectations_dir() / intraday.FILE_NAME
    if intraday.write_suite(expectations_dir(), check=check):
        return 0
    print(f"{path} is out of date: run python -m stockfeatures.validation suite", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
