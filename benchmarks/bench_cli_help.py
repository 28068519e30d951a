"""How long `stockfeatures --help` and each `SUBCOMMAND --help` take, as a user runs them.

    .venv/bin/python benchmarks/bench_cli_help.py [--runs 5] [--src OTHER_CHECKOUT/src]

Each run is a fresh interpreter (`python -c "from stockfeatures.cli import main; ..."`), so
the figure includes every import the parser triggers. --src puts another checkout's
src/ first on PYTHONPATH to measure it side by side (e.g. the main branch before the lazy
imports). Writes benchmarks/results/cli_help.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli_help.json"
COMMANDS = [[], ["demo"], ["ingest"], ["features"], ["serve"], ["warm-up"]]
SNIPPET = "import sys\nfrom stockfeatures.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"


def _time_once(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", SNIPPET, *argv, "--help"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int, src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    rows = {}
    for argv in COMMANDS:
        times = [_time_once(argv, env) for _ in range(runs)]
        rows[" ".join(["stockfeatures", *argv, "--help"])] = {
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3)}
    return {"src": src or "this checkout", "runs": runs, "load_average": os.getloadavg(), "commands": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per command (default 5)")
    parser.add_argument("--src", help="another checkout's src/ to measure instead of this one")
    args = parser.parse_args()
    result = measure(args.runs, args.src)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[result["src"]] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"| command | median s | min s | max s |  ({result['src']}, load {result['load_average']})")
    print("|---|---|---|---|")
    for command, row in result["commands"].items():
        print(f"| `{command}` | {row['median_s']} | {row['min_s']} | {row['max_s']} |")


if __name__ == "__main__":
    main()
