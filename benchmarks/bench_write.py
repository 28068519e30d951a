"""PostgresWarehouse.write_features at scale: first load, re-run, daily session (issue 12).

Rows are features_daily-shaped (ticker, event_timestamp at the 16:00 New York close,
created_timestamp, every FeatureSpec feature as a double, the first 20 sessions of each
ticker NaN as a lookback warm-up leaves them), synthetic so that only the write is timed:

- first_load: sessions x tickers written in windows of about 1 M rows (ROWS_PER_WINDOW), as
  the compute stage stores them, into an empty, migrated features_daily;
- rerun_unchanged: the first window written again with a later created_timestamp (every row
  unchanged, nothing inserted), as a re-run compute over stored history;
- daily_session: one new session for every ticker on top of the whole table (the daily
  update's store step);
- table size (pg_total_relation_size) and bytes per row.

    .venv/bin/python benchmarks/bench_write.py --tickers 2000          # 2.5 M rows
    .venv/bin/python benchmarks/bench_write.py --tickers 10000         # 12.5 M rows

Uses its own database (<--db-prefix><pid>, default sf_bench_write_<pid>, on
STOCKFEATURES_PG_DSN's server), dropped after.
Appends the run to benchmarks/results/write.json with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

RESULTS = Path(__file__).resolve().parent / "results"
SESSIONS = 1256  # 5 years of NYSE sessions
WARMUP = 20


def admin_dsn() -> str:
    return os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"


def closes(sessions: int) -> pd.DatetimeIndex:
    """The first sessions + 1 XNYS closes from 2021 (UTC): 5 years and one new session."""
    from stockfeatures.trading_calendar import calendar, session_close

    return session_close(calendar().sessions_in_range("2021-01-04", "2027-01-01")[: sessions + 1])


def window_frame(tickers: list[str], stamps: pd.DatetimeIndex, first_index: int,
                 created: pd.Timestamp, seed: int) -> pd.DataFrame:
    from stockfeatures.features.spec import FEATURE_NAMES

    rng = np.random.default_rng(seed)
    n = len(tickers) * len(stamps)
    frame = pd.DataFrame({
        "ticker": np.repeat(np.array(tickers, dtype=object), len(stamps)),
        "event_timestamp": np.tile(stamps.to_numpy(), len(tickers)),
        "created_timestamp": created,
    })
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    warm = np.tile(np.arange(first_index, first_index + len(stamps)) < WARMUP, len(tickers))
    for name in FEATURE_NAMES:
        values = rng.standard_normal(n)
        values[warm] = np.nan
        frame[name] = values
    return frame


def backend_cpu_s(dsn: str, database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `database` (local server).

    On a shared 2-core box wall time moves with everyone else's load; the backends' own CPU
    (utime + stime in /proc) is the server's work for this run: the client connections and
    any autovacuum worker on this database at the time (the growing table triggers insert
    vacuums and analyzes). 0.0 when the server is not on this machine.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    with psycopg.connect(dsn) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,))]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def table_bytes(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT pg_total_relation_size('features_daily')").fetchone()[0]


def run(size: int, rows_per_window: int, db_prefix: str = "sf_bench_write_") -> dict:
    from stockfeatures.storage.postgres_warehouse import PostgresWarehouse

    name = f"{db_prefix}{os.getpid()}"
    admin = admin_dsn()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.rsplit("/", 1)[0] + f"/{name}"
    tickers = [f"T{i:05d}" for i in range(size)]
    stamps = closes(SESSIONS)
    history, new_session = stamps[:SESSIONS], stamps[SESSIONS:]
    per_window = max(rows_per_window // size, 20)
    r: dict = {"tickers": size, "rows": size * SESSIONS, "window_sessions": per_window,
               "load_before": os.getloadavg()}
    try:
        with PostgresWarehouse(dsn) as warehouse:
            warehouse.migrate()
            build = write = inserted = 0.0
            client_cpu, server_cpu = time.process_time(), backend_cpu_s(dsn, name)
            for i in range(0, SESSIONS, per_window):
                t0 = time.perf_counter()
                window = history[i:i + per_window]
                frame = window_frame(tickers, window, i, window[-1], seed=i)
                t1 = time.perf_counter()
                result = warehouse.write_features(frame)
                write += time.perf_counter() - t1
                build += t1 - t0
                inserted += result.inserted
            r.update(first_load_s=round(write, 2), build_frames_s=round(build, 2),
                     first_load_inserted=int(inserted),
                     first_load_server_cpu_s=round(backend_cpu_s(dsn, name) - server_cpu, 2),
                     # the client's CPU includes building the synthetic frames (build_frames_s)
                     first_load_client_cpu_s=round(time.process_time() - client_cpu, 2))
            print(f"  first_load: {r['first_load_s']} s ({int(inserted)} rows; CPU server "
                  f"{r['first_load_server_cpu_s']} s, client {r['first_load_client_cpu_s']} s)",
                  flush=True)
            frame = window_frame(tickers, history[:per_window], 0, stamps[-1], seed=0)
            t0 = time.perf_counter()
            result = warehouse.write_features(frame)
            r.update(rerun_unchanged_s=round(time.perf_counter() - t0, 2),
                     rerun_rows=len(frame), rerun_inserted=result.inserted,
                     rerun_unchanged=result.unchanged)
            print(f"  rerun_unchanged: {r['rerun_unchanged_s']} s ({result})", flush=True)
            frame = window_frame(tickers, new_session, SESSIONS, new_session[0], seed=99)
            t0 = time.perf_counter()
            result = warehouse.write_features(frame)
            r.update(daily_session_s=round(time.perf_counter() - t0, 2),
                     daily_inserted=result.inserted)
            print(f"  daily_session: {r['daily_session_s']} s ({result})", flush=True)
        total = table_bytes(dsn)
        r.update(features_mb=round(total / 2**20, 1),
                 bytes_per_row=round(total / (size * (SESSIONS + 1)), 1))
        print(f"  features_daily: {r['features_mb']} MB, {r['bytes_per_row']} B/row", flush=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    r["load_after"] = os.getloadavg()
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=2000)
    parser.add_argument("--rows-per-window", type=int, default=1_000_000)
    parser.add_argument("--label", default="")
    parser.add_argument("--db-prefix", default="sf_bench_write_",
                        help="name prefix of the throwaway database (a shared server's naming rule)")
    args = parser.parse_args()
    result = run(args.tickers, args.rows_per_window, args.db_prefix)
    result["label"] = args.label
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "write.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
