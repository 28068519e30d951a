"""What issue 10's ingest rules cost: calendar window from 1970, and reading a CSV row by row.

    .venv/bin/python benchmarks/bench_ingest.py

- Building the XNYS calendar (once per process, cached) from 1970 (the new default) and
  from 1990 (the old one), each in a fresh interpreter so the cache cannot help.
- CsvSource.fetch on a 100-ticker x 5-year file (126k rows): pandas' C reader when the file
  has no NUL byte and no ragged row (else Python's csv module), then every row is checked.
- The whole ingest stage (fetch, raw gate, parquet store) on the same file.
Results go to benchmarks/results/ingest.json with the load average.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RESULT = REPO / "benchmarks" / "results" / "ingest.json"
CALENDAR_PROBE = (  # imports first: only the calendar's construction is timed
    "import time; from stockfeatures.trading_calendar import calendar; "
    "t = time.perf_counter(); calendar(); print(time.perf_counter() - t)"
)


def calendar_build(start: str, repeats: int = 3) -> dict:
    env = {**os.environ, "STOCKFEATURES_CALENDAR_START": start}
    times = [float(subprocess.run([sys.executable, "-c", CALENDAR_PROBE], env=env, check=True,
                                  capture_output=True, text=True).stdout) for _ in range(repeats)]
    return {"start": start, "median_s": round(statistics.median(times), 3), "repeats": repeats}


def csv_file(path: Path, tickers: int, start: str, end: str) -> int:
    from stockfeatures.prices.sample import SampleSource

    names = [f"T{i:03d}" for i in range(tickers - 1)] + ["SPY"]
    bars = SampleSource(names).fetch(names, start, end).bars
    frame = bars.assign(date=bars["session"].dt.strftime("%Y-%m-%d"), dividend="", split="")
    frame[["ticker", "date", "open", "high", "low", "close", "volume", "dividend", "split"]].to_csv(path, index=False)
    return len(frame)


def main() -> None:
    from stockfeatures.prices.csv_source import CsvSource
    from stockfeatures.stages.ingest import ingest
    from stockfeatures.storage.parquet_warehouse import ParquetWarehouse

    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
              "load_average_1m_at_start": os.getloadavg()[0],
              "calendar_build": [calendar_build("1970-01-01"), calendar_build("1990-01-01")]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bars.csv"
        rows = csv_file(path, 100, "2020-01-02", "2024-12-31")
        fetches = []
        for _ in range(3):
            started = time.perf_counter()
            CsvSource(path).fetch(None)
            fetches.append(time.perf_counter() - started)
        result["csv_fetch_100x5y"] = {"rows": rows, "median_s": round(statistics.median(fetches), 3)}
        started = time.perf_counter()
        report = ingest(CsvSource(path), ParquetWarehouse(Path(folder) / "warehouse"))
        result["ingest_stage_100x5y_first_load"] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3),
                                                    "summary": report.line()}
    result["load_average_1m_at_end"] = os.getloadavg()[0]
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
