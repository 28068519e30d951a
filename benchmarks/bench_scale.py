"""Scale on one box: every stage at 500 / 2,000 / 10,000 tickers x 5 years (issue 12, step 1).

    .venv/bin/python benchmarks/bench_scale.py                     # 500 2000 10000
    .venv/bin/python benchmarks/bench_scale.py --sizes 500 2000    # a shorter curve

Each size runs in its own process on a prod-profile stack (a fresh PostgreSQL database on
STOCKFEATURES_PG_DSN's server, Redis db 12 of --redis), with the sample source's bars for the
last 5 years minus one session. Stages, each timed alone (the stage functions the flows call):

- generate: the sample source builds the bars (not a platform cost; shown for scale);
- ingest: knowledge time, the raw Great Expectations gate, COPY of the bars into `prices`;
- compute: `compute_features` over every bar (adjusted), single process, in one pass;
- the compute stage as `stockfeatures compute` runs it (stages.compute.compute): window by
  window of about 1 M feature rows, compute + the two-pass Great Expectations gate + store;
  of that, validate (the GX runs) and write (COPY into features_daily) are shown apart;
- materialize: the daily flow's window (7 days) to Redis; online memory per ticker;
- daily update: one new session for every ticker, end to end (fetch from the sample source,
  raw gate, incremental compute of only the new session from each ticker's lookback window,
  feature gate, store, materialize), in a fresh process, with that process's peak RSS;
- PIT: get_historical_features for 1 M random (ticker, instant) rows over the whole table,
  and stock Feast's PostgreSQL store on the same table at a size it finishes (in a child
  process with a time limit);
- HTTP: one request for 500 tickers x momentum_v1 against `stockfeatures serve`, sequential,
  20 per second for 15 s (hey), p50/p99.

Results: benchmarks/results/scale.json and scale.md, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_online import drop_database, universe  # noqa: E402
from scale_report import render  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SCALE_REDIS_DB = 12
YEARS = 5
PIT_ROWS = 1_000_000
STOCK_PIT_ROWS = (10_000, 100_000)
STOCK_PIT_LIMIT_S = 300
HTTP_TICKERS = 500
MATERIALIZE_DAYS = 7


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across execve, so
    a child would report its parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Prefetched:
    """A price source that hands back a batch built beforehand, so ingest is timed alone."""

    name = "sample"

    def __init__(self, batch):
        self.batch = batch

    def fetch(self, tickers, start, end):
        return self.batch


def timed(results: dict, key: str, call, steps: dict | None = None):
    """Time `call`; with `steps`, also record the peak RSS reached by the end of it."""
    started = time.perf_counter()
    value = call()
    results[key] = round(time.perf_counter() - started, 3)
    if steps is not None:
        steps[key.removesuffix("_s")] = round(peak_rss_mb())
    print(f"  {key}: {results[key]} s", flush=True)
    return value


def sessions(years: int):
    """The bench's sessions: `years` back from the latest completed one, and that one apart."""
    from stockfeatures import trading_calendar

    newest = trading_calendar.latest_completed_session(datetime.now(UTC)).date()
    history = trading_calendar.sessions_between(newest - timedelta(days=365 * years), newest)
    return history[0].date(), history[-2].date(), newest


def build_stack(size: int, root: Path, admin_dsn: str, redis_host: str) -> tuple[dict, dict]:
    """Fresh database + Redis db; every stage up to materialize timed. Returns (env, results)."""
    import psycopg
    import redis

    from stockfeatures import jobs
    from stockfeatures.config import load_settings
    from stockfeatures.features import compute_features
    from stockfeatures.prices.adjust import adjust_bars, latest_versions
    from stockfeatures.prices.sample import SampleSource
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.stages import compute, ingest
    from stockfeatures.stages.materialize import materialize

    shutil.copytree(REPO / "feature_repo", root / "feature_repo",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copytree(REPO / "infra" / "sql", root / "infra" / "sql")
    name = f"sf_scale_{size}_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    redis_url = f"redis://{redis_host}/{SCALE_REDIS_DB}"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    env = dict(STOCKFEATURES_REPO_DIR=str(root), STOCKFEATURES_PROFILE="prod",
               STOCKFEATURES_PG_DSN=dsn, STOCKFEATURES_REDIS_URL=redis_url)
    os.environ.update(env)
    settings = load_settings()
    warehouse = open_warehouse(settings)
    warehouse.migrate()
    tickers = universe(size)
    start, end, newest = sessions(YEARS)
    r: dict = {"tickers": size, "database": name, "start": str(start), "end": str(end),
               "new_session": str(newest)}
    batch = timed(r, "generate_s", lambda: SampleSource(tickers=tickers).fetch(tickers, start, end))
    r["bars"] = len(batch.bars)
    result = timed(r, "ingest_s", lambda: ingest.ingest(Prefetched(batch), warehouse, tickers, start, end))
    r["ingest_counts"] = result.counts()
    batch = result = None  # free the memory before the next stage
    adjusted = timed(r, "read_adjust_s", lambda: adjust_bars(latest_versions(warehouse.read_bars()),
                                                            warehouse.read_actions()))
    features = timed(r, "compute_s", lambda: compute_features(adjusted, settings.benchmark_ticker))
    r["feature_rows"] = len(features)
    features = adjusted = None  # free the memory before the next stage
    r["windows"] = len(compute.compute_windows(warehouse))
    report = timed(r, "compute_validate_write_s",
                   lambda: compute.compute(warehouse, settings.benchmark_ticker))
    r["validate_s"] = round(report.validate_seconds, 3)
    r["write_features_s"] = round(report.write_seconds, 3)
    r["features_written"] = report.inserted
    jobs.apply_definitions(settings)
    store = open_feature_store(settings)
    memory_before = client.info("memory")["used_memory"]
    window_end = datetime.combine(end, datetime.min.time(), UTC) + timedelta(days=1)
    timed(r, "materialize_s", lambda: materialize(
        store, window_end - timedelta(days=MATERIALIZE_DAYS), window_end, warehouse=warehouse))
    r["online_bytes_per_ticker"] = round((client.info("memory")["used_memory"] - memory_before) / size)
    r["online_keys"] = client.dbsize()
    with psycopg.connect(dsn) as conn:
        r["table_mb"] = {table: round(conn.execute("SELECT pg_total_relation_size(%s)",
                                                   (table,)).fetchone()[0] / 2**20, 1)
                         for table in ("prices", "features_daily")}
    warehouse.close()
    r["build_peak_rss_mb"] = round(peak_rss_mb())
    return env, r


def daily_update_child(size: int) -> dict:
    """One new session, end to end, in this (fresh) process."""
    from stockfeatures.config import load_settings
    from stockfeatures.prices.sample import SampleSource
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.stages import compute, ingest
    from stockfeatures.stages.materialize import materialize

    started = time.perf_counter()
    settings = load_settings()
    warehouse = open_warehouse(settings)
    store = open_feature_store(settings)
    tickers = universe(size)
    _, _, newest = sessions(YEARS)
    r: dict = {"setup_s": round(time.perf_counter() - started, 3)}  # imports, Feast store
    steps = {"start": round(peak_rss_mb())}  # peak RSS (VmHWM) by the end of each step
    fetched = timed(r, "fetch_s", lambda: SampleSource(tickers=tickers).fetch(tickers, newest, newest), steps)
    result = timed(r, "ingest_s", lambda: ingest.ingest(Prefetched(fetched), warehouse, tickers,
                                                         newest, newest), steps)
    r["new_bars"] = result.bars.inserted
    report = timed(r, "compute_s", lambda: compute.compute(warehouse, settings.benchmark_ticker,
                                                           start=newest, end=newest), steps)
    r["new_feature_rows"] = report.inserted
    window_end = datetime.combine(newest, datetime.min.time(), UTC) + timedelta(days=1)
    timed(r, "materialize_s", lambda: materialize(
        store, window_end - timedelta(days=MATERIALIZE_DAYS), window_end, warehouse=warehouse), steps)
    r["total_s"] = round(time.perf_counter() - started, 3)
    r["peak_rss_mb"] = round(peak_rss_mb())
    r["rss_by_step_mb"] = steps
    return r


def entity_rows(rows: int, tickers: list[str], start, end, seed: int = 12):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start, tz="UTC").value
    last = (pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)).value
    return pd.DataFrame({
        "ticker": np.asarray(tickers, dtype=object)[rng.integers(0, len(tickers), rows)],
        "event_timestamp": pd.to_datetime(rng.integers(first, last, rows), utc=True),
    })


def pit_child(size: int, rows: int, stock: bool) -> dict:
    """get_historical_features for `rows` random entity rows, ours or stock Feast's store."""
    from stockfeatures.config import load_settings
    from stockfeatures.features.spec import RETURNS_VIEW, features_in_view
    from stockfeatures.profiles import open_feature_store

    settings = load_settings()
    if stock:  # the same repo and registry, offline store switched to stock Feast's
        yaml = Path(settings.feature_store_yaml)
        stock_yaml = yaml.with_name("feature_store.stock.yaml")
        stock_yaml.write_text(yaml.read_text().replace(
            "type: stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore", "type: postgres"))
        from feast import FeatureStore

        settings.export_feast_environment()
        store = FeatureStore(repo_path=str(settings.feature_repo_dir), fs_yaml_file=stock_yaml)
    else:
        store = open_feature_store(settings)
    start, end, _ = sessions(YEARS)
    entities = entity_rows(rows, universe(size), start, end)
    refs = [f"{RETURNS_VIEW}:{spec.name}" for spec in features_in_view(RETURNS_VIEW)]
    started = time.perf_counter()
    frame = store.get_historical_features(entity_df=entities, features=refs).to_df()
    seconds = time.perf_counter() - started
    assert len(frame) == rows, (len(frame), rows)
    return {"rows": rows, "seconds": round(seconds, 3), "features": len(refs),
            "non_null_share": round(float(frame[refs[0].split(":")[1]].notna().mean()), 3),
            "peak_rss_mb": round(peak_rss_mb())}


def run_child(args: list[str], env: dict, limit: float | None = None) -> dict | None:
    command = [sys.executable, __file__, *args]
    try:
        out = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True,
                             timeout=limit, check=True).stdout
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as failed:
        raise RuntimeError(f"{' '.join(args)} failed:\n{failed.stderr[-3000:]}") from failed
    return json.loads(out.strip().splitlines()[-1])


def http_read(size: int, env: dict) -> dict:
    """`stockfeatures serve` on this stack; one request for 500 tickers, sequential."""
    from bench_http import Server, hey

    from stockfeatures.config import load_settings
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.serving.warm_up import warm_up_store

    os.environ.update(env)
    settings = load_settings()
    warehouse = open_warehouse(settings)

    warm_up_store(open_feature_store(settings), warehouse)
    warehouse.close()
    tickers = universe(size)[:HTTP_TICKERS]
    body = json.dumps({"entities": {"ticker": tickers}, "feature_service": "momentum_v1"})
    server_env = {**os.environ, **settings.feast_environment(),
                  "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="sf-scale-metrics-")}
    with Server([str(REPO / "infra" / "serve.sh"), "--port", "18611", "--workers", "2"],
                server_env, 18611) as server:
        hey(server.url, 3, 1, 20, body)
        measured = hey(server.url, 15, 1, 20, body)
    return {"tickers": len(tickers), **measured}


def measure(size: int, admin_dsn: str, redis_host: str, keep: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"sf-scale-{size}-"))
    print(f"{size} tickers:", flush=True)
    env, r = build_stack(size, root, admin_dsn, redis_host)
    try:
        r["daily_update"] = run_child(["--daily-update", str(size)], env)
        r["daily_update_s"] = r["daily_update"]["total_s"]
        r["daily_update_peak_rss_mb"] = r["daily_update"]["peak_rss_mb"]
        print(f"  daily update: {r['daily_update']}", flush=True)
        r["pit"] = run_child(["--pit", str(size), str(PIT_ROWS)], env)
        r["pit_1m_s"] = r["pit"]["seconds"]
        print(f"  pit: {r['pit']}", flush=True)
        r["stock_pit"] = []
        for rows in STOCK_PIT_ROWS:
            got = run_child(["--pit", str(size), str(rows), "--stock"], env, STOCK_PIT_LIMIT_S)
            r["stock_pit"].append(got or {"rows": rows, "seconds": None,
                                          "note": f"did not finish in {STOCK_PIT_LIMIT_S} s"})
            print(f"  stock pit: {r['stock_pit'][-1]}", flush=True)
            if got is None:
                break
        if shutil.which("hey"):
            r["http"] = http_read(size, env)
            r["http_500_p99_ms"] = r["http"]["p99_ms"]
            print(f"  http: {r['http']}", flush=True)
    finally:
        if not keep:
            drop_database(admin_dsn, r["database"])
            shutil.rmtree(root, ignore_errors=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--keep", action="store_true", help="keep the databases for inspection")
    parser.add_argument("--shared-with", default="", help="what else ran during the run")
    parser.add_argument("--daily-update", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pit", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stock", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.daily_update:
        print(json.dumps(daily_update_child(args.daily_update)))
        return
    if args.pit:
        print(json.dumps(pit_child(args.pit[0], args.pit[1], args.stock)))
        return
    admin_dsn = os.environ.get("STOCKFEATURES_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    results = {"machine": f"{platform.node()} {os.cpu_count()} cores",
               "date": datetime.now(UTC).isoformat(timespec="seconds"),
               "load_average_start": os.getloadavg(), "shared_with": args.shared_with, "runs": []}
    for size in args.sizes:
        results["runs"].append(measure(size, admin_dsn, args.redis, args.keep))
    results["load_average"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / "scale.md").write_text(render(results))
    print(render(results))


if __name__ == "__main__":
    main()
