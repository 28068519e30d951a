"""In-process serving benchmark, side by side with stock Feast on the same Redis.

Measures: p50/p99 of 1 ticker x momentum_v1 (our read-through path vs raw
FeatureStore.get_online_features), cold-ticker lazy fill latency (from a warehouse row and
from stored prices), the computation count for 100 concurrent misses, the hit rate of a
simulated trading day before and after warm-up, and the process RSS.
Writes benchmarks/results/online.md and online.json.

    .venv/bin/python benchmarks/bench_online.py [--tickers 100]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psutil
import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCH_REDIS_DB = 13
START, END = date(2024, 1, 2), date(2025, 6, 30)
# Tuesday 2025-07-01 14:30 UTC (10:30 New York): Monday's values are the fresh ones.
DAY_OPEN = datetime(2025, 7, 1, 13, 30, tzinfo=UTC)


def universe(size: int) -> list[str]:
    from stockfeatures.prices.sample import DEFAULT_TICKERS

    names = list(DEFAULT_TICKERS)
    names += [f"SYN{i:03d}" for i in range(max(0, size - len(names)))]
    return names[:size] if "SPY" in names[:size] else [*names[: size - 1], "SPY"]


def build_bench_stack(size: int, root: Path, admin_dsn: str, redis_host: str = "127.0.0.1:6379",
                      start: date = START, end: date = END):
    """A prod-profile stack of `size` tickers (sample bars start..end) in a fresh database and
    Redis db 13."""
    from stockfeatures import jobs
    from stockfeatures.config import load_settings
    from stockfeatures.prices.sample import SampleSource
    from stockfeatures.profiles import open_feature_store, open_warehouse
    from stockfeatures.stages import compute, ingest

    shutil.copytree(REPO / "feature_repo", root / "feature_repo",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copytree(REPO / "infra" / "sql", root / "infra" / "sql")
    name = f"sf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    redis_url = f"redis://{redis_host}/{BENCH_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    os.environ.update(STOCKFEATURES_REPO_DIR=str(root), STOCKFEATURES_PROFILE="prod",
                      STOCKFEATURES_PG_DSN=dsn, STOCKFEATURES_REDIS_URL=redis_url)
    settings = load_settings()
    warehouse = open_warehouse(settings)
    warehouse.migrate()
    tickers = universe(size)
    ingest.ingest(SampleSource(tickers=tickers), warehouse, tickers, start, end)
    compute.compute(warehouse, settings.benchmark_ticker)
    jobs.apply_definitions(settings)
    store = open_feature_store(settings)
    return settings, warehouse, store, tickers, name


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1e3
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def bench_hot_path(server, store, rounds: int, per_round: int) -> dict:
    from stockfeatures.features.spec import MOMENTUM_SERVICE

    service = store.get_feature_service(MOMENTUM_SERVICE)
    gc.collect()
    gc.freeze()  # as the server does after start-up (stockfeatures.serving.run)
    ours, feast, ping = [], [], []
    for _ in range(3 * per_round // 10):  # warm both paths
        server.get_features(["AAPL"], service=MOMENTUM_SERVICE)
        store.get_online_features(features=service, entity_rows=[{"ticker": "AAPL"}])
    for _ in range(rounds):  # interleaved rounds: machine noise hits both alike
        for _ in range(per_round):
            started = time.perf_counter()
            server.get_features(["AAPL"], service=MOMENTUM_SERVICE)
            ours.append(time.perf_counter() - started)
        for _ in range(per_round):
            started = time.perf_counter()
            store.get_online_features(features=service, entity_rows=[{"ticker": "AAPL"}])
            feast.append(time.perf_counter() - started)
        for _ in range(per_round):
            started = time.perf_counter()
            server.redis.ping()
            ping.append(time.perf_counter() - started)
    return {"read_through": percentiles(ours), "feast_get_online_features": percentiles(feast),
            "redis_ping_floor": percentiles(ping)}


def forget(server, ticker: str) -> None:
    server.redis.delete(server.reader.key(ticker), server.locks.lock_key(ticker))
    for key in server.redis.scan_iter(match=f"{server.locks.prefix}:checked:*:{ticker}"):
        server.redis.delete(key)


def bench_cold(server, tickers: list[str]) -> dict:
    from stockfeatures.features.spec import MOMENTUM_SERVICE

    samples = []
    for ticker in tickers:
        forget(server, ticker)
        started = time.perf_counter()
        item = server.get_features([ticker], service=MOMENTUM_SERVICE)[ticker]
        samples.append(time.perf_counter() - started)
        assert item.sources <= {"offline", "computed"}, item.sources
    return percentiles(samples)


def bench_cold_from_prices(server, warehouse, count: int) -> dict:
    """Tickers with stored prices but no feature rows: the fill recomputes from bars."""
    from stockfeatures.features.spec import MOMENTUM_SERVICE
    from stockfeatures.prices.sample import SampleSource
    from stockfeatures.stages.ingest import ingest

    fresh = [f"NEW{i:03d}" for i in range(count)]
    ingest(SampleSource(tickers=fresh), warehouse, fresh, START, END)
    samples = []
    for ticker in fresh:
        started = time.perf_counter()
        item = server.get_features([ticker], service=MOMENTUM_SERVICE)[ticker]
        samples.append(time.perf_counter() - started)
        assert item.sources == {"computed"}, item.sources
    return percentiles(samples)


def bench_stampede(server, ticker: str, callers: int = 100) -> dict:
    from stockfeatures import metrics

    forget(server, ticker)
    before = sum(metrics.COMPUTATIONS.labels(o)._value.get() for o in ("warehouse_row", "prices"))
    barrier = threading.Barrier(callers)

    def call(_):
        barrier.wait()
        return server.get_features([ticker], features=["ret_1d"])[ticker].status

    with ThreadPoolExecutor(max_workers=callers) as pool:
        statuses = list(pool.map(call, range(callers)))
    after = sum(metrics.COMPUTATIONS.labels(o)._value.get() for o in ("warehouse_row", "prices"))
    return {"callers": callers, "computations": int(after - before),
            "all_fresh": all(s == "fresh" for s in statuses)}


def simulated_day(server, tickers: list[str], requests: int, seed: int = 7) -> dict:
    """Zipf-skewed requests (a few names dominate, as in a real book) over one session."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(tickers) + 1) ** 1.1
    order = rng.permutation(tickers)
    picks = rng.choice(order, size=requests, p=weights / weights.sum())
    now = [DAY_OPEN]
    server.freshness.clock = lambda: now[0]
    step = timedelta(hours=6.5) / requests
    hits = 0
    for ticker in picks:
        item = server.get_features([str(ticker)], features=["ret_5d", "vol_20d"])[str(ticker)]
        hits += item.sources == {"online"} and item.status == "fresh"
        now[0] += step
    top = int(np.sum(np.isin(picks, order[:10])))
    return {"requests": requests, "hit_rate": hits / requests, "top10_share": top / requests}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=2000)
    args = parser.parse_args()
    admin = os.environ.get("STOCKFEATURES_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    root = Path(tempfile.mkdtemp(prefix="sf-bench-online-"))
    settings, warehouse, store, tickers, db = build_bench_stack(args.tickers, root, admin)
    try:
        from stockfeatures.serving import open_feature_server
        from stockfeatures.serving.warm_up import warm_up_store

        server = open_feature_server(settings, clock=lambda: DAY_OPEN)
        results: dict = {"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
                         "date": datetime.now(UTC).isoformat(timespec="seconds"),
                         "tickers": len(tickers)}
        results["hit_rate_cold_start"] = simulated_day(server, tickers, 3000)
        redis.Redis.from_url(settings.redis_url).flushdb()
        warm = time.perf_counter()
        report = warm_up_store(store, warehouse)
        results["warm_up_seconds"] = time.perf_counter() - warm
        results["warm_up"] = report.line()
        results["hit_rate_after_warm_up"] = simulated_day(server, tickers, 20000)
        server.freshness.clock = lambda: DAY_OPEN
        results["hot_path"] = bench_hot_path(server, store, args.rounds, args.per_round)
        results["cold_fill_from_warehouse_row"] = bench_cold(server, tickers[:60])
        results["cold_fill_from_prices"] = bench_cold_from_prices(server, warehouse, 10)
        results["stampede"] = bench_stampede(server, tickers[1])
        results["rss_mb"] = psutil.Process().memory_info().rss / 2**20
        results["load_average"] = os.getloadavg()
    finally:
        warehouse.close()
        drop_database(admin, db)
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "online.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "online.md").write_text(render(results))
    print(render(results))


def render(r: dict) -> str:
    hot = r["hot_path"]
    ours, feast = hot["read_through"], hot["feast_get_online_features"]
    cold, prices, stampede = r["cold_fill_from_warehouse_row"], r["cold_fill_from_prices"], r["stampede"]
    return f"""# Online serving, in process ({r['date']})

Machine: {r['machine']}, load average at the end {', '.join(f'{x:.1f}' for x in r['load_average'])}
(shared with other work; compare rows of one run, not across runs).
Data: {r['tickers']} synthetic tickers, prod profile (Redis 7 online, PostgreSQL 15 offline), same Redis for both paths.

| measurement | result | goal |
|---|---|---|
| read-through `get_features`, 1 ticker x momentum_v1 | p50 {ours['p50_ms']:.3f} ms, p99 {ours['p99_ms']:.3f} ms | p99 <= 0.5 ms |
| stock `FeatureStore.get_online_features`, same request | p50 {feast['p50_ms']:.3f} ms, p99 {feast['p99_ms']:.3f} ms | (baseline) |
| floor: one Redis PING round trip, same client | p50 {hot['redis_ping_floor']['p50_ms']:.3f} ms, p99 {hot['redis_ping_floor']['p99_ms']:.3f} ms | |
| cold ticker, filled from the warehouse row | p50 {cold['p50_ms']:.1f} ms, p99 {cold['p99_ms']:.1f} ms (n={cold['n']}) | p99 <= 50 ms |
| cold ticker, recomputed from stored prices | p50 {prices['p50_ms']:.1f} ms, p99 {prices['p99_ms']:.1f} ms (n={prices['n']}) | (no goal) |
| {stampede['callers']} concurrent misses on one ticker | {stampede['computations']} computation(s), all fresh: {stampede['all_fresh']} | exactly 1 |
| hit rate, simulated day, cold online store | {r['hit_rate_cold_start']['hit_rate']:.1%} of {r['hit_rate_cold_start']['requests']} | |
| hit rate, simulated day after warm-up | {r['hit_rate_after_warm_up']['hit_rate']:.1%} of {r['hit_rate_after_warm_up']['requests']} (top 10 names: {r['hit_rate_after_warm_up']['top10_share']:.0%} of requests) | >= 95% |
| warm-up | {r['warm_up_seconds']:.2f} s: {r['warm_up']} | |
| benchmark process RSS | {r['rss_mb']:.0f} MB | (server RSS: see http.md) |

Samples: {ours['n']} per path, interleaved in rounds. Cold fills delete the ticker's online key first.
"""


if __name__ == "__main__":
    main()
