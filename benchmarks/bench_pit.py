"""Point-in-time retrieval, side by side: stock Feast PostgreSQL vs FastPostgreSQL vs DuckDB.

One run, same data: 500 synthetic tickers x business days 2021-01-01..2025-12-31, 7 float
features, one feature view (ttl 10 days, created_timestamp_column, queried "as known at" with
filter_by_created_timestamp=True), random (ticker, time) entity rows. Each case runs in its
own process, and the kernel's peak-RSS mark is reset right before each call, so the peak
belongs to that call alone. The fast store runs with its defaults (parallel_sessions: 2).

    .venv/bin/python benchmarks/bench_pit.py              # every case, writes results/pit.*
    .venv/bin/python benchmarks/bench_pit.py --skip-stock-625k

Uses its own database (default sf_bench, from STOCKFEATURES_PG_DSN's server), re-created.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
TABLE = "bench_features_daily"
TICKERS = 500
START, END = "2021-01-01", "2025-12-31"
ROW_COUNTS = (100_000, 625_000)
STORES = ("stock_postgres", "fast_postgres", "fast_postgres_lateral", "duckdb")
"""fast_postgres: the store's defaults (asof_method auto); fast_postgres_lateral: forced to
its lateral-lookup plan, to show what the merge plan adds where auto picks it."""
TTL = timedelta(days=10)
SEED = 20240501


def feature_names() -> list[str]:
    from stockfeatures.features.spec import FEATURE_NAMES

    return list(FEATURE_NAMES[:7])


def admin_dsn() -> str:
    return os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"


def bench_dsn(database: str) -> str:
    return urlunparse(urlparse(admin_dsn())._replace(path=f"/{database}"))


def synthetic_features() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    days = pd.bdate_range(START, END)
    closes = days.tz_localize("UTC") + pd.Timedelta(hours=21)
    tickers = np.array([f"T{i:03d}" for i in range(TICKERS)])
    frame = pd.DataFrame(
        {
            "ticker": np.repeat(tickers, len(days)),
            "event_timestamp": np.tile(closes, TICKERS),
        }
    )
    frame["created_timestamp"] = frame["event_timestamp"]
    for name in feature_names():
        frame[name] = rng.normal(size=len(frame))
    return frame


def entity_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(SEED + rows)
    start = pd.Timestamp(START, tz="UTC").value
    end = pd.Timestamp(END, tz="UTC").value + 86_400 * 10**9
    times = pd.to_datetime(rng.integers(start, end, size=rows) // 10**6 * 10**6, utc=True)
    return pd.DataFrame(
        {
            "ticker": np.array([f"T{i:03d}" for i in range(TICKERS)])[
                rng.integers(0, TICKERS, size=rows)
            ],
            "event_timestamp": times,
        }
    )


def prepare(database: str, workdir: Path) -> None:
    """(Re)create the benchmark database, its table and index, and the parquet copy."""
    import psycopg

    frame = synthetic_features()
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    columns = ", ".join(f'"{n}" double precision' for n in feature_names())
    with psycopg.connect(bench_dsn(database)) as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {TABLE} (ticker text NOT NULL, event_timestamp timestamptz NOT NULL, "
            f"created_timestamp timestamptz NOT NULL, {columns}, "
            "PRIMARY KEY (ticker, event_timestamp, created_timestamp))"
        )
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S%z")
        with cur.copy(f"COPY {TABLE} FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        cur.execute(f"ANALYZE {TABLE}")
    frame.to_parquet(workdir / f"{TABLE}.parquet", index=False)
    print(f"prepared {len(frame):,} feature rows in {database} and parquet", file=sys.stderr)


def store_for(kind: str, database: str, workdir: Path):
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
        PostgreSQLSource,
    )
    from feast.types import Float64

    repo = workdir / kind
    repo.mkdir(exist_ok=True)
    pg = urlparse(bench_dsn(database))
    if kind == "duckdb":
        offline = "  type: duckdb\n"
        source = FileSource(
            name="bench_source",
            path=str(workdir / f"{TABLE}.parquet"),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        )
    else:
        offline_type = (
            "postgres" if kind == "stock_postgres"
            else "stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore"
        )
        offline = (
            f"  type: {offline_type}\n  host: {pg.hostname}\n  port: {pg.port or 5432}\n"
            f"  database: {database}\n  user: {pg.username or 'postgres'}\n"
            f"  password: \"{pg.password or ''}\"\n  sslmode: disable\n"
        )
        if kind == "fast_postgres_lateral":
            offline += "  asof_method: lateral\n"
        source = PostgreSQLSource(
            name="bench_source",
            table=TABLE,
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        )
    (repo / "feature_store.yaml").write_text(
        f"project: bench_pit\nprovider: local\nregistry: {repo / 'registry.db'}\n"
        f"online_store:\n  type: sqlite\n  path: {repo / 'online.db'}\n"
        f"offline_store:\n{offline}entity_key_serialization_version: 3\n"
    )
    store = FeatureStore(repo_path=str(repo))
    ticker = Entity(name="ticker", join_keys=["ticker"], value_type=ValueType.STRING)
    view = FeatureView(
        name="bench_daily",
        entities=[ticker],
        ttl=TTL,
        schema=[Field(name=n, dtype=Float64) for n in feature_names()],
        source=source,
    )
    store.apply([ticker, view])
    return store


def _proc_status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss() -> float | None:
    """Reset the kernel's peak-RSS mark (Linux clear_refs 5); returns the current RSS in MB.

    ru_maxrss cannot be reset, and Feast's imports alone push it above what a 100k-row call
    needs, so the peak of the call itself comes from VmHWM after this reset.
    """
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return _proc_status_mb("VmRSS")
    except OSError:
        return None


def peak_rss_mb(reset_worked: bool) -> float:
    if reset_worked:
        return _proc_status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(kind: str, rows: int, database: str, workdir: Path, repeats: int) -> dict:
    """Runs inside a child process; returns seconds, RSS and a checksum of the answer."""
    store = store_for(kind, database, workdir)
    entity = entity_frame(rows)
    refs = [f"bench_daily:{n}" for n in feature_names()]
    runs, peaks, before = [], [], None
    for _ in range(repeats):
        result = None
        rss_before = reset_peak_rss()
        before = rss_before if before is None else before
        start = time.perf_counter()
        result = store.get_historical_features(
            entity_df=entity, features=refs, filter_by_created_timestamp=True
        ).to_df()
        runs.append(time.perf_counter() - start)
        peaks.append(peak_rss_mb(rss_before is not None))
    values = result[feature_names()].to_numpy().ravel()
    finite = values[np.isfinite(values)]
    return {
        "store": kind,
        "entity_rows": rows,
        "seconds_median": round(float(np.median(runs)), 3),
        "seconds_best": round(min(runs), 3),
        "runs": [round(r, 3) for r in runs],
        "peak_rss_mb": round(max(peaks), 1),
        "rss_before_call_mb": None if before is None else round(before, 1),
        "result_rows": len(result),
        "non_null_values": int(len(finite)),
        # fsum is exact, so the checksum does not depend on the order rows come back in.
        "value_sum": math.fsum(finite.tolist()),
    }


def child(args: argparse.Namespace) -> None:
    outcome = run_case(args.case, args.rows, args.database, Path(args.workdir), args.repeats)
    print(json.dumps(outcome))


def write_report(results: list[dict], skipped: list[str], database: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    by = {(r["store"], r["entity_rows"]): r for r in results}
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "data": f"{TICKERS} tickers x business days {START}..{END}, 7 float features",
        "ttl_days": TTL.days,
        "filter_by_created_timestamp": True,
        "database": database,
        "skipped": skipped,
        "load_average_before": LOAD_BEFORE,
        "load_average_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }
    (RESULTS / "pit.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = [
        "# Point-in-time retrieval: stock Feast PostgreSQL vs FastPostgreSQL vs DuckDB",
        "",
        f"Generated by `benchmarks/bench_pit.py` on {meta['machine']}. Data: {meta['data']}, "
        f"one feature view, ttl {TTL.days} days, `filter_by_created_timestamp=True`, random "
        "(ticker, time) entity rows. `get_historical_features(...).to_df()` wall time; stock "
        "Feast once per size, the others `--repeats` times (median and best shown); each case "
        "in its own process. Peak RSS is the process's high-water mark "
        "during the call (VmHWM, reset just before it), so it includes the entity frame, "
        "Feast's imports and everything alive at that moment; `RSS before` is the resident "
        "size when the call started. Load average (2 cores shared with other work) before "
        f"{meta['load_average_before']}, after {meta['load_average_after']}. `fast_postgres` "
        "runs with `asof_method: auto` (it merges where the source rows are at most 1.5 per "
        "entity row: here at 625k), `fast_postgres_lateral` forced to index lookups.",
        "",
        "| store | entity rows | seconds (median) | best | runs | x faster than stock "
        "(median) | peak RSS MB | RSS before MB | non-null values | value sum |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        stock = by.get(("stock_postgres", r["entity_rows"]))
        speedup = f"{stock['seconds_median'] / r['seconds_median']:.1f}" if stock else "n/a"
        lines.append(
            f"| {r['store']} | {r['entity_rows']:,} | {r['seconds_median']:.2f} | "
            f"{r['seconds_best']:.2f} | {len(r['runs'])} | {speedup} | {r['peak_rss_mb']:.0f} | "
            f"{r['rss_before_call_mb'] or 'n/a'} | {r['non_null_values']:,} | "
            f"{r['value_sum']:.9f} |"
        )
    if skipped:
        lines += ["", f"Skipped: {', '.join(skipped)}."]
    lines += [
        "",
        "Equal `non-null values` and `value sum` (exact fsum, independent of row order) per row "
        "count mean the stores returned the same answer; the property tests in "
        "tests/integration/pit/ prove equality value by value. The machine is shared (2 "
        "cores): absolute seconds move with its load, the ratios within one run are the "
        "comparison.",
    ]
    (RESULTS / "pit.md").write_text("\n".join(lines) + "\n")


LOAD_BEFORE = " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sf_bench")
    parser.add_argument("--skip-stock-625k", action="store_true",
                        help="skip the slowest case (stock Feast at 625k rows, about a minute)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls per case for the fast and DuckDB stores (stock: always 1)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_pit_") as tmp:
        workdir = Path(tmp)
        prepare(args.database, workdir)
        results, skipped = [], []
        for rows in ROW_COUNTS:
            for kind in STORES:
                if kind == "stock_postgres" and rows == 625_000 and args.skip_stock_625k:
                    skipped.append(f"{kind} at {rows:,} rows")
                    continue
                out = subprocess.run(
                    [sys.executable, __file__, "--case", kind, "--rows", str(rows),
                     "--database", args.database, "--workdir", str(workdir),
                     "--repeats", "1" if kind == "stock_postgres" else str(args.repeats)],
                    capture_output=True, text=True, check=False,
                )
                if out.returncode != 0:
                    raise RuntimeError(f"{kind} at {rows} rows failed:\n{out.stderr[-3000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(json.dumps(result), file=sys.stderr)
                results.append(result)
        write_report(results, skipped, args.database)
    print((RESULTS / "pit.md").read_text())


if __name__ == "__main__":
    main()
