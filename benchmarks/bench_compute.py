"""Time compute_features on 500 tickers x 5 years of synthetic adjusted bars.

Run: .venv/bin/python benchmarks/bench_compute.py [--tickers 500] [--repeats 3]
Writes benchmarks/results/compute.json (best of the repeats) and prints one line.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from stockfeatures.features import compute_features
from stockfeatures.trading_calendar import session_close, sessions_between

RESULTS = Path(__file__).resolve().parent / "results" / "compute.json"
SEED = 20260101


def synthetic_bars(tickers: int, start: str = "2021-01-01", end: str = "2025-12-31") -> pd.DataFrame:
    """Random-walk OHLCV for SPY plus `tickers - 1` others, every ticker on every session."""
    rng = np.random.default_rng(SEED)
    sessions = sessions_between(start, end)
    shape = (len(sessions), tickers)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, shape), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.005, shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, shape)))
    volume = np.round(rng.lognormal(13, 0.6, shape))
    names = ["SPY"] + [f"T{i:04d}" for i in range(1, tickers)]
    closes = session_close(sessions)

    def long(wide: np.ndarray) -> np.ndarray:
        return wide.T.reshape(-1)  # ticker-major rows

    return pd.DataFrame({
        "ticker": np.repeat(names, len(sessions)),
        "session": np.tile(sessions.to_numpy(), tickers),
        "open": long(open_), "high": long(high), "low": long(low), "close": long(close),
        "volume": long(volume), "raw_close": long(close), "raw_volume": long(volume),
        "event_timestamp": np.tile(closes, tickers),
        "created_timestamp": np.tile(closes, tickers),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    bars = synthetic_bars(args.tickers)
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        features = compute_features(bars, benchmark="SPY")
        timings.append(time.perf_counter() - started)
    result = {
        "benchmark": "compute_features",
        "tickers": args.tickers,
        "sessions": int(bars["session"].nunique()),
        "rows": len(bars),
        "features": len(features.columns) - 3,
        "best_seconds": round(min(timings), 4),
        "all_seconds": [round(t, 4) for t in timings],
        "rows_per_second": round(len(bars) / min(timings)),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"compute_features: {result['rows']} rows ({args.tickers} tickers x {result['sessions']} "
        f"sessions), best of {args.repeats}: {result['best_seconds']:.3f} s -> {RESULTS}"
    )


if __name__ == "__main__":
    main()
