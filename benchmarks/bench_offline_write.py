"""offline_write_batch throughput on FastPostgreSQLOfflineStore (the offline half of push).

Stock Feast's PostgreSQL offline store has no offline_write_batch (it raises
NotImplementedError), so there is no stock row to put beside ours. Two references instead,
in the same run and on the same table: the same rows through `FeatureStore.push(...,
to=PushMode.OFFLINE)` (Feast's frame checks and reindex on top of the store's write), and a
CSV COPY of the same Arrow table written by pyarrow (arrow_copy.copy_arrow_in): the text path
the binary encoder was chosen over.

Rows are features_daily-shaped: ticker text, event_timestamp, created_timestamp (timestamptz)
and the first 7 FeatureSpec features (double precision), 100k rows by default.

    .venv/bin/python benchmarks/bench_offline_write.py     # writes results/offline_write.*

Uses its own database (default sf_bench_offline_write on STOCKFEATURES_PG_DSN's server),
re-created and dropped.
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
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.integration.pit.feast_repo
RESULTS = Path(__file__).resolve().parent / "results"
TABLE = "bench_offline_write"


def feature_names() -> list[str]:
    from stockfeatures.features.spec import FEATURE_NAMES

    return list(FEATURE_NAMES[:7])


def admin_dsn() -> str:
    return os.environ.get("STOCKFEATURES_PG_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"


def synthetic_rows(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(20261202)
    closes = pd.Timestamp("2024-01-02 14:35", tz="UTC") + pd.to_timedelta(np.arange(rows) // 500 * 5, unit="min")
    frame = pd.DataFrame({
        "ticker": np.tile(np.array([f"T{i:03d}" for i in range(500)]), rows // 500 + 1)[:rows],
        "event_timestamp": closes,
        "created_timestamp": closes,
    })
    for name in feature_names():
        frame[name] = rng.normal(size=rows)
    return frame


def build_store(root: Path, dsn: str):
    from feast import Entity, FeatureStore, FeatureView, Field, PushSource, ValueType
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
        PostgreSQLSource,
    )
    from feast.types import Float64

    from stockfeatures.offline.pit_store import STORE_TYPE
    from tests.integration.pit.feast_repo import repo_yaml

    (root / "feature_store.yaml").write_text(repo_yaml(
        root / "registry.db", f"type: sqlite\n  path: {root / 'online.db'}", STORE_TYPE, dsn,
        project="bench_offline_write"))
    ticker = Entity(name="ticker", join_keys=["ticker"], value_type=ValueType.STRING)
    source = PostgreSQLSource(name="bench_source", table=TABLE, timestamp_field="event_timestamp",
                              created_timestamp_column="created_timestamp")
    push = PushSource(name="bench_push", batch_source=source)
    view = FeatureView(name="bench_view", entities=[ticker], ttl=timedelta(days=1),
                       schema=[Field(name=n, dtype=Float64) for n in feature_names()], source=push)
    store = FeatureStore(repo_path=str(root))
    store.apply([ticker, source, push, view])
    return store, store.get_feature_view("bench_view")


def timed(run, reset, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        reset()
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sf_bench_offline_write")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from feast.data_source import PushMode

    from stockfeatures.offline.arrow_copy import copy_arrow_in
    from stockfeatures.offline.binary_columns import copy_rows_body
    from stockfeatures.offline.offline_write import target_columns, wire_column
    from stockfeatures.offline.pit_store import FastPostgreSQLOfflineStore

    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    dsn = urlunparse(urlparse(admin_dsn())._replace(path=f"/{args.database}"))
    features = ", ".join(f'"{n}" double precision' for n in feature_names())
    with psycopg.connect(dsn) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (ticker text NOT NULL, event_timestamp timestamptz NOT NULL, "
                     f"created_timestamp timestamptz NOT NULL, {features}, "
                     "PRIMARY KEY (ticker, event_timestamp, created_timestamp))")

    def truncate() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute(f"TRUNCATE {TABLE}")

    frame = synthetic_rows(args.rows)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store, view = build_store(Path(tmp), dsn)
            cases = {
                "offline_write_batch (binary COPY)": lambda: FastPostgreSQLOfflineStore.offline_write_batch(
                    store.config, view, table, None),
                "store.push(to=OFFLINE)": lambda: store.push("bench_push", frame, to=PushMode.OFFLINE),
            }

            def csv_copy() -> None:
                with psycopg.connect(dsn) as conn, conn.cursor() as cur:
                    copy_arrow_in(cur, TABLE, table)

            cases["reference: pyarrow CSV COPY"] = csv_copy
            results = {name: timed(run, truncate, args.repeats) for name, run in cases.items()}
            with psycopg.connect(dsn) as conn, conn.cursor() as cur:
                targets = target_columns(cur, TABLE)
            encode_s = statistics.median(timed(
                lambda: copy_rows_body([wire_column(t.name, table.column(t.name), t) for t in targets]),
                lambda: None, args.repeats))
            with psycopg.connect(dsn) as conn:
                stored = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
            assert stored == args.rows, f"last case stored {stored} rows, expected {args.rows}"
    finally:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')

    load = [round(x, 2) for x in os.getloadavg()]
    report = {
        "rows": args.rows, "repeats": args.repeats, "load_average": load,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "client_encode_s": encode_s,
        "cases": {name: {"median_s": statistics.median(s), "all_s": s,
                         "rows_per_s": args.rows / statistics.median(s)} for name, s in results.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "offline_write.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# offline_write_batch: appending pushed rows to the PostgreSQL offline store",
        "",
        f"{args.rows:,} features_daily-shaped rows (ticker, 2 timestamptz, 7 double features) into a "
        f"table with its primary key, median of {args.repeats} (table emptied before each); "
        f"load average {load} on {report['machine']}. Stock Feast's PostgreSQL store: "
        "NotImplementedError (no offline writes, so `push(to=OFFLINE)` fails there).",
        "",
        "| path | median (s) | rows/s |",
        "|---|---|---|",
    ]
    for name, case in report["cases"].items():
        lines.append(f"| {name} | {case['median_s']:.3f} | {case['rows_per_s']:,.0f} |")
    lines += [
        "",
        f"Of the binary path, {encode_s:.3f} s is the client building the COPY stream from Arrow "
        "(type checks, conversion, numpy row layout); the rest is PostgreSQL taking the COPY "
        "(parsing, primary-key index, commit).",
    ]
    (RESULTS / "offline_write.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
