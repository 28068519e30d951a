"""1 M random (ticker, instant) entity rows through the prod store, daily and intraday (issues 12, 13).

Goals on two cores: daily (features_daily, --tickers x 5 years) <= 6 s; intraday
(features_intraday, 500 tickers x 20 sessions x 78 bars) <= 5 s. Each table is asked with
the store's default plan choice (`asof_method: auto`) and with each plan forced, every case
in its own process, `--repeats` calls each (the first pays the registry load).

    STOCKFEATURES_REDIS_URL=redis://127.0.0.1:<port>/0 .venv/bin/python benchmarks/bench_pit_1m.py
    ... bench_pit_1m.py --tickers 500 --keep        # smaller daily table; keep the database

Builds a fresh prod stack in its own database (--database, dropped unless --keep; an existing
one is reused with --reuse), with synthetic random feature values: the data's shape, not its
values, sets the cost. Stock Feast is in bench_pit.py and bench_intraday.py: at 1 M rows it
does not finish (its join pairs every entity row with every earlier row of its key).
Writes results/pit_1m.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
RESULTS = REPO / "benchmarks" / "results"
ROWS = 1_000_000
DAILY_DAYS = ("2020-12-01", "2025-11-28")
INTRADAY_SESSIONS = ("2025-08-04", "2025-08-29")  # 20 weekdays, no US holiday
METHODS = ("auto", "lateral", "merge")
GOALS_S = {"daily": 6.0, "intraday": 5.0}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def dsn_for(database: str) -> str:
    admin = os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"
    return admin.rsplit("/", 1)[0] + f"/{database}"


def fill_daily(dsn: str, tickers: list[str]) -> int:
    from stockfeatures.storage.tables import features_schema

    schema = features_schema()
    closes = pd.bdate_range(*DAILY_DAYS).tz_localize("UTC") + pd.Timedelta(hours=21)
    rng = np.random.default_rng(1)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for chunk in np.array_split(np.array(tickers, dtype=object), max(1, len(tickers) // 200)):
            frame = pd.DataFrame({"ticker": np.repeat(chunk, len(closes)),
                                  "event_timestamp": np.tile(closes, len(chunk))})
            frame["created_timestamp"] = frame["event_timestamp"]
            for name in schema.values:
                frame[name] = rng.normal(size=len(frame))
            buffer = io.StringIO()
            frame[list(schema.columns)].to_csv(buffer, index=False, header=False,
                                               date_format="%Y-%m-%d %H:%M:%S%z")
            with cur.copy(f"COPY features_daily ({', '.join(schema.columns)}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE features_daily")
    return len(closes) * len(tickers)


def build(root: Path, database: str, tickers: int) -> dict:
    from bench_intraday import fill_features, open_prod_stack
    from bench_intraday import universe as intraday_universe
    from bench_online import universe

    admin = dsn_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    _, warehouse, _ = open_prod_stack(root, dsn_for(database), os.environ["STOCKFEATURES_REDIS_URL"])
    intraday = fill_features(warehouse, intraday_universe(500), pd.bdate_range(*INTRADAY_SESSIONS))
    warehouse.close()
    return {"daily_rows": fill_daily(dsn_for(database), universe(tickers)),
            "intraday_rows": len(intraday)}


def case(table: str, method: str, tickers: int, repeats: int) -> dict:
    """In a child process: the prod store (asof_method set) on `table`, `repeats` calls."""
    from bench_intraday import universe as intraday_universe
    from bench_online import universe
    from feast import FeatureStore

    from stockfeatures.config import load_settings
    from stockfeatures.features.spec import RETURNS_VIEW, features_in_view
    from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_VIEW

    settings = load_settings()
    settings.export_feast_environment()
    yaml = Path(settings.feature_store_yaml)
    forced = yaml.with_name(f"feature_store.{method}.yaml")
    forced.write_text(yaml.read_text().replace(
        "type: stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore",
        f"type: stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore\n  asof_method: {method}"))
    store = FeatureStore(repo_path=str(settings.feature_repo_dir), fs_yaml_file=forced)
    rng = np.random.default_rng(12)
    if table == "daily":
        names, first, last = universe(tickers), *DAILY_DAYS
        refs = [f"{RETURNS_VIEW}:{spec.name}" for spec in features_in_view(RETURNS_VIEW)]
        first, last = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
    else:
        names = intraday_universe(500)
        refs = [f"{INTRADAY_VIEW}:{name}" for name in INTRADAY_FEATURE_NAMES]
        first = pd.Timestamp(f"{INTRADAY_SESSIONS[0]} 13:35", tz="UTC")
        last = pd.Timestamp(f"{INTRADAY_SESSIONS[1]} 20:00", tz="UTC")
    entity = pd.DataFrame({
        "ticker": np.asarray(names, dtype=object)[rng.integers(0, len(names), ROWS)],
        "event_timestamp": pd.to_datetime(rng.integers(first.value, last.value, ROWS), utc=True),
    })
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        frame = store.get_historical_features(entity_df=entity, features=refs,
                                              filter_by_created_timestamp=table == "intraday").to_df()
        runs.append(round(time.perf_counter() - started, 3))
    values = frame[[ref.split(":")[1] for ref in refs]].to_numpy().ravel()
    finite = values[np.isfinite(values)]
    return {"table": table, "method": method, "runs": runs, "best_s": min(runs),
            "non_null_values": int(len(finite)), "value_sum": float(np.sum(finite)),
            "load_after": loadavg()}


def write_report(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pit_1m.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# 1 M entity rows through the prod store: daily <= 6 s, intraday <= 5 s", "",
        f"`benchmarks/bench_pit_1m.py`, {result['when']}, {os.cpu_count()} cores shared with other "
        f"work; load average before {result['load_before']}, after {result['load_after']}. "
        f"features_daily: {result['daily_rows']:,} rows ({result['tickers']:,} tickers x "
        f"business days {DAILY_DAYS[0]}..{DAILY_DAYS[1]}, 9 features of returns_daily); "
        f"features_intraday: {result['intraday_rows']:,} rows (500 tickers x 20 sessions x 78 "
        "bars, 7 features, as known at each instant). 1,000,000 random (ticker, instant) entity "
        "rows; each case in its own process, the first call pays the registry load.", "",
        "| table | asof_method | runs s | best s | goal s | load after | non-null values | value sum |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["cases"]:
        lines.append(f"| {r['table']} | {r['method']} | {', '.join(f'{s:.2f}' for s in r['runs'])} | "
                     f"{r['best_s']:.2f} | {GOALS_S[r['table']]:.0f} | {r['load_after']} | "
                     f"{r['non_null_values']:,} | {r['value_sum']:.6f} |")
    lines += ["", "Equal non-null counts and sums per table: the plans returned the same answer "
              "(tests/integration/pit/ compares them value by value)."]
    (RESULTS / "pit_1m.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--database", default="sf_bench_pit_1m")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse --database as built before")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case[0], args.case[1], args.tickers, args.repeats)))
        return
    if not os.environ.get("STOCKFEATURES_REDIS_URL"):
        sys.exit("set STOCKFEATURES_REDIS_URL to a private Redis database (it is flushed)")
    root = Path(tempfile.mkdtemp(prefix="sf-pit-1m-"))
    result: dict = {"when": pd.Timestamp.now("UTC").isoformat(timespec="seconds"),
                    "tickers": args.tickers, "load_before": loadavg()}
    if args.reuse:
        from tests.conftest import copy_repo_skeleton

        copy_repo_skeleton(root)
        with psycopg.connect(dsn_for(args.database)) as conn:
            for table in ("daily", "intraday"):
                result[f"{table}_rows"] = conn.execute(f"SELECT count(*) FROM features_{table}").fetchone()[0]
    else:
        result.update(build(root, args.database, args.tickers))
    env = {**os.environ, "STOCKFEATURES_REPO_DIR": str(root), "STOCKFEATURES_PROFILE": "prod",
           "STOCKFEATURES_PG_DSN": dsn_for(args.database)}
    result["cases"] = []
    try:
        for table in ("daily", "intraday"):
            for method in METHODS:
                out = subprocess.run([sys.executable, __file__, "--case", table, method,
                                      "--tickers", str(args.tickers), "--repeats", str(args.repeats)],
                                     env=env, capture_output=True, text=True, check=True).stdout
                result["cases"].append(json.loads(out.strip().splitlines()[-1]))
                print(json.dumps(result["cases"][-1]), flush=True)
    finally:
        if not args.keep:
            with psycopg.connect(dsn_for("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    result["load_after"] = loadavg()
    write_report(result)
    print((RESULTS / "pit_1m.md").read_text())


if __name__ == "__main__":
    main()
