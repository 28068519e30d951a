"""HTTP benchmark at fixed request rates: our server vs `feast serve`, same data, one run.

Fixed-rate load with `hey -z <s>s -q <per-connection rate> -c <connections>` (apt package
`hey`; its connections fire in lockstep: bursts) and the same connections and rates spread
evenly in time (benchmarks/spread_load.py: one hey process per connection, staggered)
against POST /get-online-features on:
  - stockfeatures (infra/serve.sh, 2 granian workers, no recycling): 1 ticker x momentum_v1
    (2 feature views) fresh (hit), the same for a stale ticker (miss path), and 1 ticker x
    7 features of one view (returns_daily)
  - the same server with Redis killed, at 500 rps (the degraded tier), then with
    PostgreSQL stopped too, for a ticker the server never served (503 within the deadline)
  - stock `feast serve -w 2 --max-requests 1000000` on a FILE registry, the best stock
    configuration that runs here: with the SQL registry it failed to boot 2 of 2 times on
    this machine (`Application startup failed`, Feast #5784); defaults (1 worker,
    recycled every ~1000 requests) drop requests (BASELINES.md)
Everything runs on a private PostgreSQL cluster and a private redis-server (free ports),
so the outage cases kill only what this script started. Servers run one at a time; hey
shares the 2 cores with the server. Writes benchmarks/results/http.md and http.json.

    .venv/bin/python benchmarks/bench_http.py [--seconds 12]

`--only hit,floor` runs just those rows (hit: ours, momentum_v1 fresh; floor: the raw ASGI
app), for a quick before/after of the hit path: it prints them and writes the JSON to
`--out` if given, never http.md/http.json (a partial run is not the side-by-side report).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import contextlib

from bench_online import REPO, RESULTS, build_bench_stack  # noqa: E402
from http_report import FLOOR, RATES, SINGLE_RATE, render  # noqa: E402
from spread_load import hey_spread  # noqa: E402

from tests.integration.serving.conftest import PgCluster, RedisProcess  # noqa: E402

DEGRADED_RATE = (10, 50)  # 500 rps with Redis down
HISTORY_DAYS = 545  # as much history as the fixed 2024-01-02..2025-06-30 set had
STALE_TICKER = "STALE"  # online only, a week old: every read of it takes the miss path
ONE_VIEW = [f"returns_daily:{name}" for name in
            ("ret_1d", "ret_5d", "ret_20d", "mom_12_1", "ma_gap_20d", "rsi_14", "drawdown_252")]


def _body(ticker: str, features: list[str] | None = None) -> str:
    what = {"features": features} if features else {"feature_service": "momentum_v1"}
    return json.dumps({"entities": {"ticker": [ticker]}, **what})


BODY = _body("AAPL")
STALE_BODY = _body(STALE_TICKER)
ONE_VIEW_BODY = _body("AAPL", ONE_VIEW)


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            answer = httpx.post(f"{url}/get-online-features", content=BODY, timeout=2,
                                headers={"Content-Type": "application/json"})
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {seconds} s")


def hey(url: str, seconds: int, connections: int, per_connection: int, body: str = BODY) -> dict:
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(connections), "-q", str(per_connection),
         "-m", "POST", "-T", "application/json", "-d", body, f"{url}/get-online-features"],
        capture_output=True, text=True, check=True,
    ).stdout
    def seconds_at(pct: str) -> float | None:
        match = re.search(rf"{pct}% in ([0-9.]+) secs", out)
        return float(match.group(1)) * 1e3 if match else None

    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    error_block = out.split("Error distribution:")[1] if "Error distribution:" in out else ""
    errors = sum(int(n) for n in re.findall(r"\[(\d+)\]", error_block))
    non_200 = sum(n for code, n in statuses.items() if code != 200)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    slowest = re.search(r"Slowest:\s+([0-9.]+) secs", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50_ms": seconds_at(50),
            "p99_ms": seconds_at(99), "max_ms": float(slowest.group(1)) * 1e3 if slowest else None,
            "errors": errors + non_200, "statuses": statuses}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server's processes have used so far."""
    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def tree_rss_mb(pid: int) -> dict:
    parent = psutil.Process(pid)
    procs = [parent, *parent.children(recursive=True)]
    per = {p.pid: p.memory_info().rss / 2**20 for p in procs if p.is_running()}
    return {"total_mb": sum(per.values()), "largest_mb": max(per.values()), "processes": len(per)}


class Server:
    """One server process on a port; stopped (whole process group) on exit."""

    def __init__(self, command: list[str], env: dict, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> Server:
        wait_ready(self.url, self.process)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)

    def rates(self, name: str, body: str, seconds: int) -> dict:
        hey(self.url, 3, 10, 50, body)  # warm connections and caches
        result = {"server": name}
        for target, (connections, per_connection) in [*RATES.items(), (SINGLE_RATE, (1, SINGLE_RATE))]:
            before = tree_cpu_s(self.process.pid)
            measured = hey(self.url, seconds, connections, per_connection, body)
            served = max(sum(measured["statuses"].values()), 1)
            measured["cpu_ms_per_request"] = (tree_cpu_s(self.process.pid) - before) / served * 1e3
            result[str(target)] = measured
        for target, (connections, per_connection) in RATES.items():
            before = tree_cpu_s(self.process.pid)
            measured = hey_spread(self.url, seconds, connections, per_connection, body)
            served = max(sum(measured["statuses"].values()), 1)
            measured["cpu_ms_per_request"] = (tree_cpu_s(self.process.pid) - before) / served * 1e3
            result[f"spread_{target}"] = measured
        result["rss"] = tree_rss_mb(self.process.pid)
        return result


def feast_file_registry_yaml(settings, root: Path) -> Path:
    """The prod yaml with a file registry (Feast #5784: `feast serve -w 2` on the SQL
    registry fails to boot here), applied once so feast serve finds the definitions."""
    text = settings.feature_store_yaml.read_text()
    start = text.index("registry:")
    end = text.index("online_store:")
    registry = root / "feast_registry.db"
    yaml = root / "feature_store.feast_file_registry.yaml"
    yaml.write_text(text[:start] + f"registry: {registry}\n" + text[end:])
    env = {**os.environ, **settings.feast_environment()}
    subprocess.run([str(REPO / ".venv" / "bin" / "feast"), "-c", str(settings.feature_repo_dir),
                    "-f", str(yaml), "apply"], env=env, check=True, capture_output=True)
    return yaml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--tickers", type=int, default=100)
    parser.add_argument("--shared-with", default="",
                        help="what else ran on the machine during the run, for the report")
    parser.add_argument("--only", default="",
                        help="comma-separated subset of rows: hit, floor (module doc)")
    parser.add_argument("--out", default="", help="with --only: where to write the JSON")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    if only - {"hit", "floor"}:
        raise SystemExit(f"--only knows hit and floor, not {sorted(only - {'hit', 'floor'})}")
    if shutil.which("hey") is None:
        raise SystemExit("install the load generator first: apt-get install -y hey")
    root = Path(tempfile.mkdtemp(prefix="sf-bench-http-"))
    cluster_dir = Path(tempfile.mkdtemp(prefix="sf-bench-http-pg-"))
    cluster, own_redis = PgCluster(cluster_dir), RedisProcess()
    cluster.init()
    cluster.start()
    own_redis.start()
    from stockfeatures import trading_calendar

    newest = trading_calendar.latest_completed_session(datetime.now(UTC)).date()
    try:
        # Data ends at the latest completed session, so reads take the normal (fresh) path.
        settings, warehouse, store, tickers, _ = build_bench_stack(
            args.tickers, root, cluster.dsn, redis_host=f"127.0.0.1:{own_redis.port}",
            start=newest - timedelta(days=HISTORY_DAYS), end=newest)
        from stockfeatures.serving.warm_up import warm_up_store

        warmed = warm_up_store(store, warehouse)
        _write_stale_ticker(store, warehouse)
        warehouse.close()
        env = {**os.environ, **settings.feast_environment(),
               "PROMETHEUS_MULTIPROC_DIR": str(root / "metrics")}
        feast_yaml = None if only else feast_file_registry_yaml(settings, root)
        results = {"machine": f"{platform.node()} {os.cpu_count()} cores",
                   "date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "newest_session": newest.isoformat(),
                   "newest_event_timestamp": str(warmed.newest_event_timestamp),
                   "seconds": args.seconds, "load_average_start": os.getloadavg(),
                   "shared_with": args.shared_with, "runs": []}
        ours = "stockfeatures serve (2 workers)"
        if not only or "hit" in only:
            print("running stockfeatures serve ...", flush=True)
            with Server([str(REPO / "infra" / "serve.sh"), "--port", "18601", "--workers", "2"],
                        env, 18601) as server:
                check_paths(server.url)
                results["runs"].append(server.rates(f"{ours}, momentum_v1 fresh (hit)", BODY,
                                                    args.seconds))
                if not only:
                    results["runs"].append(server.rates(f"{ours}, 7 features of one view",
                                                        ONE_VIEW_BODY, args.seconds))
                    results["runs"].append(server.rates(f"{ours}, momentum_v1 stale (miss path)",
                                                        STALE_BODY, args.seconds))
                    results["outages"] = outages(server, cluster, own_redis, tickers, args.seconds)
        if not only:
            print("running feast serve ...", flush=True)
            feast = [str(REPO / ".venv" / "bin" / "feast"), "-c", str(settings.feature_repo_dir),
                     "-f", str(feast_yaml), "serve", "--no-access-log", "-p", "18603", "-w", "2",
                     "--max-requests", "1000000"]
            name = "feast serve -w 2 --max-requests 1000000 (file registry)"
            with Server(feast, env, 18603) as server:
                results["runs"].append(server.rates(f"{name}, momentum_v1", BODY, args.seconds))
                results["runs"].append(server.rates(f"{name}, 7 features of one view",
                                                    ONE_VIEW_BODY, args.seconds))
        if not only or "floor" in only:
            print("running the raw ASGI floor ...", flush=True)
            floor = [str(REPO / ".venv" / "bin" / "granian"), "--interface", "asgi", "--workers",
                     "2", "--loop", "uvloop", "--http", "1", "--no-ws", "--log-level", "warning",
                     "--port", "18605", "--working-dir", str(REPO / "benchmarks"),
                     "raw_asgi_app:app"]
            with Server(floor, env, 18605) as server:
                results["runs"].append(server.rates(FLOOR, BODY, args.seconds))
        results["load_average"] = os.getloadavg()
    finally:
        own_redis.kill()
        cluster.thaw()
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.kill()
        shutil.rmtree(cluster_dir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    if only:
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        print(subset_table(results))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "http.md").write_text(render(results))
    print(render(results))


def subset_table(results: dict) -> str:
    """The rows an --only run measured, with the load average at its start and end."""
    start, end = (", ".join(f"{x:.1f}" for x in results[key])
                  for key in ("load_average_start", "load_average"))
    lines = [f"load average at the start {start}, at the end {end}",
             "| server | rate | rps | p50 ms | p99 ms | max ms | errors | CPU ms/request |",
             "|---|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        for key, row in run.items():
            if isinstance(row, dict) and "rps" in row:
                lines.append(f"| {run['server']} | {key} | {row['rps']:.0f} | {row['p50_ms']:.1f} | "
                             f"{row['p99_ms']:.1f} | {row['max_ms']:.1f} | {row['errors']} | "
                             f"{row['cpu_ms_per_request']:.2f} |")
    return "\n".join(lines)


def outages(server: Server, cluster: PgCluster, own_redis: RedisProcess, tickers: list[str],
            seconds: int) -> dict:
    """Redis killed: 500 rps of momentum_v1 reads; then PostgreSQL stopped too: reads of a
    ticker this server never served (not in its degraded tier) must be 503 within 1 s."""
    own_redis.kill()
    hey(server.url, 2, 10, 50, BODY)  # the first reads fill the degraded tier
    connections, per_connection = DEGRADED_RATE
    redis_down = hey(server.url, seconds, connections, per_connection, BODY)
    cluster.kill()
    cold = next(t for t in tickers if t not in ("AAPL", "SPY"))
    both_down = hey(server.url, 5, 5, 20, _body(cold))
    cluster.start()
    own_redis.start()
    return {"redis_down_500": redis_down, "both_down_cold_ticker": both_down}


def _write_stale_ticker(store, warehouse) -> None:
    """Put STALE_TICKER in the online store only, a week older than AAPL's newest row.

    Neither the warehouse nor stored prices know it, so its first read fills (finds
    nothing newer) and marks it checked; later reads are the settled-stale path.
    """
    from stockfeatures.serving.lazy_compute import LazyCompute
    from stockfeatures.serving.plan import PlanResolver

    rows = warehouse.latest_features(["AAPL"]).copy()
    rows["ticker"] = STALE_TICKER
    for column in ("event_timestamp", "created_timestamp"):
        if column in rows:
            rows[column] = rows[column] - timedelta(days=7)
    LazyCompute(store, warehouse, benchmark="").write_online(rows, PlanResolver(store).online_views())


def check_paths(url: str) -> None:
    """The row labels only mean something if AAPL really is a hit and STALE really stale."""
    for ticker, status in (("AAPL", "fresh"), (STALE_TICKER, "stale")):
        answer = httpx.get(f"{url}/features/{ticker}", params={"service": "momentum_v1"}, timeout=30)
        answer.raise_for_status()
        if answer.json()["status"] != status:
            raise RuntimeError(f"{ticker} is {answer.json()['status']}, expected {status}: {answer.text}")


if __name__ == "__main__":
    main()
