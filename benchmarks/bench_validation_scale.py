"""The Great Expectations gates at 2,000 / 10,000 tickers x 5 years, in memory (issue 12).

    .venv/bin/python benchmarks/bench_validation_scale.py --sizes 2000 10000 [--label after]

No database: the sample source's bars for the last 5 years stand in for the stored ones.

- raw gate: `gate_raw_bars` on the whole batch at once, as `stockfeatures ingest` runs it;
- feature gate: the compute stage's windows (stages.compute.compute_windows' arithmetic,
  about ROWS_PER_WINDOW feature rows each, with MAX_LOOKBACK history before), each through
  `gate_feature_passes` (the two passes); validate_s is the sum of the gates' own `seconds`
  (the Great Expectations runs plus their row bookkeeping, as bench_scale's validate_s),
  not the feature computation around them. The gates' CPU seconds (process time) are
  recorded too (`*_cpu_s`): on a shared box they move less with the load than wall time.

Every gate must pass (the sample data is clean) and the rows accepted are counted, so a
faster run that lost rows would show. Each size runs in its own process (memory is given
back between sizes). Results: benchmarks/results/validation_scale.json (one entry per
label and size) and the table in benchmarks/results/validation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
RESULT = REPO / "benchmarks" / "results" / "validation_scale.json"
YEARS = 5


def universe(size: int) -> list[str]:
    from stockfeatures.prices.sample import DEFAULT_TICKERS

    names = list(DEFAULT_TICKERS)
    names += [f"SYN{i:04d}" for i in range(max(0, size - len(names)))]
    return names[:size] if "SPY" in names[:size] else [*names[: size - 1], "SPY"]


def run_size(size: int) -> dict:
    """One size in this process: generate, raw gate, then the feature gate window by window."""
    import great_expectations  # noqa: F401  (imported once, as a flow does, before timing)

    from stockfeatures import trading_calendar
    from stockfeatures.prices.adjust import adjust_bars
    from stockfeatures.prices.sample import SampleSource
    from stockfeatures.stages.compute import ROWS_PER_WINDOW, history_start
    from stockfeatures.validation import gate_raw_bars
    from stockfeatures.validation.feature_passes import gate_feature_passes

    newest = trading_calendar.latest_completed_session(datetime.now(UTC)).date()
    sessions = trading_calendar.sessions_between(newest - timedelta(days=365 * YEARS), newest)
    tickers = universe(size)
    started = time.perf_counter()
    batch = SampleSource(tickers=tickers).fetch(tickers, sessions[0].date(), sessions[-1].date())
    r: dict = {"tickers": size, "bars": len(batch.bars), "load_start": os.getloadavg()[0],
               "generate_s": round(time.perf_counter() - started, 1)}
    gate_raw_bars(batch.bars.head(100))  # builds the GX context outside the timing

    cpu = time.process_time()
    raw = gate_raw_bars(batch.bars)
    r["raw_gate_cpu_s"] = round(time.process_time() - cpu, 2)
    assert raw.passed, raw.error()
    r["raw_gate_s"] = round(raw.seconds, 2)
    r["raw_rows_per_s"] = round(len(batch.bars) / raw.seconds)
    r["raw_accepted"] = len(raw.accepted)
    del raw

    from stockfeatures.validation import feature_passes

    gate_cpu = [0.0]
    plain_gate = feature_passes.gate_features

    def counted_gate(*args, **kwargs):  # CPU seconds of the gate runs: less hostage to load
        cpu = time.process_time()
        try:
            return plain_gate(*args, **kwargs)
        finally:
            gate_cpu[0] += time.process_time() - cpu

    feature_passes.gate_features = counted_gate
    per_window = max(ROWS_PER_WINDOW // size, 20)
    bars, actions = batch.bars, batch.actions
    validate_s, rows, accepted, windows = 0.0, 0, 0, 0
    compute_started = time.perf_counter()
    for i in range(0, len(sessions), per_window):
        first, last = sessions[i], sessions[min(i + per_window, len(sessions)) - 1]
        window = bars[(bars["session"] >= history_start(first)) & (bars["session"] <= last)]
        gate = gate_feature_passes(adjust_bars(window, actions), "SPY", first.date())
        assert gate.passed, gate.error()
        validate_s += gate.seconds
        rows, accepted, windows = rows + gate.checked, accepted + len(gate.accepted), windows + 1
    r.update(feature_windows=windows, feature_rows=rows, feature_accepted=accepted,
             validate_s=round(validate_s, 2), validate_rows_per_s=round(rows / validate_s),
             validate_cpu_s=round(gate_cpu[0], 2),
             compute_and_validate_s=round(time.perf_counter() - compute_started, 1),
             load_end=os.getloadavg()[0],
             peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return r


def render(results: dict) -> str:
    """benchmarks/results/validation.md: this bench's table, then bench_validation.py's numbers."""
    lines = ["# Great Expectations gates: time and throughput", "",
             "Generated by `benchmarks/bench_validation_scale.py` from validation_scale.json "
             "(method: its docstring). Machine: 2 cores shared with other jobs; the load average "
             "(1 min) is shown at the start and end of each run, so compare ratios between rows "
             "run at similar load.", "",
             "| run | tickers | bars / feature rows | raw gate | raw CPU | raw rows/s "
             "| feature gate (validate_s) | feature CPU | feature rows/s | windows | load start-end | run at |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, sizes in results.items():
        for size, r in sorted(sizes.items(), key=lambda item: int(item[0])):
            lines.append(
                f"| {label} | {int(size):,} | {r['bars']:,} / {r['feature_rows']:,} | {r['raw_gate_s']} s "
                f"| {r.get('raw_gate_cpu_s', '-')} s | {r['raw_rows_per_s']:,} | {r['validate_s']} s "
                f"| {r.get('validate_cpu_s', '-')} s | {r['validate_rows_per_s']:,} "
                f"| {r['feature_windows']} | {r['load_start']:.1f}-{r['load_end']:.1f} | {r['run_at']} |")
    small = REPO / "benchmarks" / "results" / "validation.json"
    if small.exists():
        daily = json.loads(small.read_text())
        lines += ["", "## Daily-size gates (benchmarks/bench_validation.py -> validation.json)", "",
                  "| batch | rows | median | max |", "|---|---|---|---|"]
        for key in ("raw_500x1", "features_500x1", "raw_100x1y", "features_100x1y"):
            if key in daily:
                d = daily[key]
                lines.append(f"| {key} | {d['rows']:,} | {d['median_s']} s | {d['max_s']} s |")
        if "added_per_daily_run_500x1_s" in daily:
            lines.append(f"\nValidation added to a 500-ticker daily run: "
                         f"{daily['added_per_daily_run_500x1_s']} s (target {daily.get('target_s')} s).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--label", default="current", help="key of this run in the results")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one size, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one)))
        return
    results = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True,
                             capture_output=True, text=True).stdout
        entry = json.loads(out.strip().splitlines()[-1])
        entry["run_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results.setdefault(args.label, {})[str(size)] = entry
        print(json.dumps(entry))
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(results, indent=2) + "\n")
        (RESULT.parent / "validation.md").write_text(render(results))


if __name__ == "__main__":
    main()
