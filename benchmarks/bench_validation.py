"""What the Great Expectations gates add to a run: 500 tickers x 1 day (and x 1 year).

    .venv/bin/python benchmarks/bench_validation.py [--backfill]

Measures, after GX is imported once (a flow imports it anyway): the raw_prices gate on 500
bars and the features_daily gate on 500 feature rows, each the median of several runs, plus
a one-year batch for scale. `--backfill` also times a 100-ticker x 5-year backfill flow on
sample data (local profile, ephemeral Prefect, in a temporary folder). Results go to
benchmarks/results/validation.json. Target from the issue: validation adds < 5 s to a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from stockfeatures.features.spec import FEATURES  # noqa: E402
from stockfeatures.prices.sample import SampleSource  # noqa: E402
from stockfeatures.trading_calendar import session_close, sessions_between  # noqa: E402
from stockfeatures.validation import gate_features, gate_raw_bars  # noqa: E402

RESULT = REPO / "benchmarks" / "results" / "validation.json"


def tickers(n: int) -> list[str]:
    return [f"T{i:03d}" for i in range(n - 1)] + ["SPY"]


def raw_batch(names: list[str], sessions: pd.DatetimeIndex) -> pd.DataFrame:
    return SampleSource(names).fetch(names, sessions[0], sessions[-1]).bars


def feature_batch(names: list[str], sessions: pd.DatetimeIndex) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    closes = session_close(sessions)
    frame = pd.DataFrame([(t, c) for t in names for c in closes], columns=["ticker", "event_timestamp"])
    frame["created_timestamp"] = frame["event_timestamp"]
    for spec in FEATURES:
        low, high = max(spec.valid_min, -1.0), min(spec.valid_max, 1.0)
        frame[spec.name] = rng.uniform(low, high, len(frame))
    frame["history_length"] = 300
    return frame


def timed(function, frame, repeats: int) -> dict:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(frame)
        seconds.append(time.perf_counter() - started)
        assert result.passed, result.error()
    return {"rows": len(frame), "median_s": round(statistics.median(seconds), 4),
            "max_s": round(max(seconds), 4), "repeats": repeats}


def bench_backfill() -> dict:
    from stockfeatures.config import load_settings
    from stockfeatures.universe import load_universe

    universe = load_universe(load_settings())
    with tempfile.TemporaryDirectory() as root:
        import shutil

        shutil.copytree(REPO / "feature_repo", Path(root) / "feature_repo",
                        ignore=shutil.ignore_patterns("__pycache__", "data"))
        os.environ.update(STOCKFEATURES_REPO_DIR=root, STOCKFEATURES_PROFILE="local",
                          PREFECT_HOME=str(Path(root) / "prefect"))
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        from pipelines.backfill import backfill

        start, end = date(2021, 1, 4), date(2025, 12, 31)
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            started = time.perf_counter()
            summary = backfill(start, end, tickers=universe, source="sample",
                               source_options={"tickers": universe}, apply_definitions=True)
            first = time.perf_counter() - started
            started = time.perf_counter()
            backfill(start, end, tickers=universe, source="sample", source_options={"tickers": universe})
            resumed = time.perf_counter() - started
    return {"tickers": len(universe), "start": str(start), "end": str(end),
            "bars": sum(r["bars_loaded"] for r in summary.tickers),
            "first_run_s": round(first, 1), "rerun_all_skipped_s": round(resumed, 1),
            "validation": summary.validation,
            "note": "local profile (parquet + SQLite), ephemeral Prefect, includes feast apply"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backfill", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    import great_expectations  # noqa: F401

    import_s = time.perf_counter() - started
    one_day = sessions_between("2025-06-30", "2025-06-30")
    one_year = sessions_between("2024-07-01", "2025-06-30")
    names = tickers(500)
    warm = raw_batch(names[:5], one_day)
    gate_raw_bars(warm)  # first call builds the GX context
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "gx_import_s": round(import_s, 2),
        "raw_500x1": timed(gate_raw_bars, raw_batch(names, one_day), 5),
        "features_500x1": timed(gate_features, feature_batch(names, one_day), 5),
        "raw_100x1y": timed(gate_raw_bars, raw_batch(names[:100], one_year), 2),
        "features_100x1y": timed(gate_features, feature_batch(names[:100], one_year), 2),
    }
    results["added_per_daily_run_500x1_s"] = round(
        results["raw_500x1"]["median_s"] + results["features_500x1"]["median_s"], 3)
    results["target_s"] = 5.0
    if args.backfill:
        results["backfill_100x5y"] = bench_backfill()
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
