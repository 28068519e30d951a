"""`python -m stockfeatures.validation suite [--check]` | `docs [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stockfeatures.validation import feature_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stockfeatures.validation")
    commands = parser.add_subparsers(dest="command", required=True)
    suite = commands.add_parser("suite", help="write expectations/features_daily.json from FeatureSpec")
    suite.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    docs = commands.add_parser("docs", help="validate the latest stored window and build Data Docs")
    docs.add_argument("--out", type=Path, help="site folder (default: data/data_docs)")
    docs.add_argument("--profile", help="overrides STOCKFEATURES_PROFILE")
    args = parser.parse_args(argv)
    if args.command == "suite":
        return feature_suite.main(["--check"] if args.check else [])
    from stockfeatures.config import load_settings
    from stockfeatures.validation.data_docs import build_data_docs, latest_frames

    settings = load_settings(args.profile)
    out = args.out or settings.data_dir / "data_docs"
    index = build_data_docs(latest_frames(settings), out, settings.data_dir / "gx")
    print(f"Data Docs: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
