"""Feast's Ray engine beside its local engine, materializing the cluster profile.

    .venv/bin/python benchmarks/bench_ray_materialize.py [--tickers 200] [--years 2]

Starts its own stack: a throwaway PostgreSQL database, a 6-node Redis Cluster
(infra/redis-cluster.sh, ports 7201-7206 unless --redis-ports) and a local Ray cluster
(infra/ray-cluster.sh: a head and one worker node, 1 CPU each, port 6390 unless
--ray-port). Ingests sample bars up to the latest completed session (Feast's Ray engine
drops rows older than now - ttl while materializing, so older data would time nothing),
then materializes the whole history with each engine into its own Feast project
(tests/integration/engine_stacks.py), twice: a first run into an empty online store and a
rerun. Also times features/distributed.py on Ray beside compute_features. Checks that both
engines leave identical online values, writes benchmarks/results/ray_materialize.json and
prints the markdown table kept in benchmarks/results/ray_materialize.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stockfeatures import trading_calendar  # noqa: E402
from stockfeatures.features import compute_features  # noqa: E402
from stockfeatures.features.distributed import compute_features_distributed, ray_runner  # noqa: E402
from stockfeatures.prices.adjust import adjust_bars, latest_versions  # noqa: E402
from tests.integration.engine_stacks import build_engine_stacks  # noqa: E402
from tests.services import postgres_server, throwaway_database  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "ray_materialize.json"
PROJECTS = {"bench_ray_engine": "ray", "bench_local_engine": "local"}


def _script(name: str, *args: str, env: dict) -> str:
    done = subprocess.run([str(REPO / "infra" / name), *args], env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"infra/{name} {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout.strip().rpartition("=")[2]


def _timed(action) -> float:
    began = time.perf_counter()
    action()
    return round(time.perf_counter() - began, 2)


def measure(tickers: int, years: float, redis_ports: list[str], ray_port: str) -> dict:
    state = Path(tempfile.mkdtemp(prefix="sf_bench_ray_"))
    env = {**os.environ, "REDIS_CLUSTER_DIR": str(state / "redis"), "RAY_CLUSTER_DIR": str(state / "ray")}
    end = trading_calendar.latest_completed_session(pd.Timestamp.now(tz="UTC")).date()
    start = end - timedelta(days=int(365.25 * years))
    names = [f"T{number:04d}" for number in range(tickers - 1)] + ["SPY"]
    result: dict = {"tickers": tickers, "years": years, "start": str(start), "end": str(end),
                    "load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    nodes = _script("redis-cluster.sh", "start", *redis_ports, env=env)
    try:
        address = _script("ray-cluster.sh", "start", ray_port, env=env)
        try:
            with postgres_server() as admin, throwaway_database(admin) as dsn, \
                    pytest.MonkeyPatch.context() as monkeypatch:
                began = time.perf_counter()
                stacks = build_engine_stacks(state / "repo", monkeypatch, dsn, nodes, address, names,
                                             start, end, projects=PROJECTS)
                result["setup_s"] = round(time.perf_counter() - began, 1)
                window = stacks.window()
                import ray

                # Connecting the driver is paid once per process; timed apart from the runs.
                result["ray_connect_s"] = _timed(lambda: ray.init(
                    address=address, log_to_driver=False, logging_level="ERROR"))
                for project, engine in PROJECTS.items():
                    store = stacks.projects[project].store
                    run = lambda store=store: store.materialize(start_date=window[0], end_date=window[1])  # noqa: E731
                    result[f"{engine}_first_s"] = _timed(run)
                    result[f"{engine}_rerun_s"] = _timed(run)
                by_ray, by_local = (stacks.online(p) for p in PROJECTS)
                result["online_identical"] = bool(by_ray.equals(by_local))
                result["tickers_online"] = int(by_ray.filter(like=":event_timestamp").notna().all(axis=1).sum())
                result.update(_compute_side_by_side(stacks.warehouse, address))
        finally:
            _script("ray-cluster.sh", "stop", ray_port, env=env)
    finally:
        _script("redis-cluster.sh", "stop", *redis_ports, env=env)
        shutil.rmtree(state, ignore_errors=True)
    result["load_average_after"] = os.getloadavg()
    return result


def _compute_side_by_side(warehouse, address: str) -> dict:
    """compute_features and compute_features_distributed on the adjusted bars compute used."""
    bars = adjust_bars(latest_versions(warehouse.read_bars()), warehouse.read_actions())
    single: dict = {}
    runner = ray_runner(address)
    single["compute_single_s"] = _timed(lambda: single.setdefault("frame", compute_features(bars, "SPY")))
    distributed = {}
    single["compute_ray_2_partitions_s"] = _timed(
        lambda: distributed.setdefault("frame", compute_features_distributed(bars, "SPY", partitions=2,
                                                                            runner=runner)))
    single["compute_identical"] = bool(single.pop("frame").equals(distributed["frame"]))
    single["bars"] = len(bars)
    return single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickers", type=int, default=200, help="tickers incl. SPY (default 200)")
    parser.add_argument("--years", type=float, default=2.0, help="years of history (default 2)")
    parser.add_argument("--redis-ports", default="7201 7202 7203 7204 7205 7206")
    parser.add_argument("--ray-port", default="6390", help="Ray head port, never 6379 (default 6390)")
    args = parser.parse_args()
    result = measure(args.tickers, args.years, args.redis_ports.split(), args.ray_port)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"{args.tickers} tickers x {args.years} years ({result['start']} to {result['end']}), "
          f"load average before {result['load_average_before']}, after {result['load_average_after']}")
    print(f"Ray driver connect: {result['ray_connect_s']} s (once per process, not in the runs)")
    print("| engine | first run s | rerun s |")
    print("|---|---|---|")
    for engine in ("ray", "local"):
        print(f"| {engine} | {result[f'{engine}_first_s']} | {result[f'{engine}_rerun_s']} |")
    print(f"online values identical: {result['online_identical']} ({result['tickers_online']} tickers)")
    print(f"compute_features {result['compute_single_s']} s, distributed on Ray (2 partitions) "
          f"{result['compute_ray_2_partitions_s']} s, identical: {result['compute_identical']} "
          f"({result['bars']} bars)")


if __name__ == "__main__":
    main()
