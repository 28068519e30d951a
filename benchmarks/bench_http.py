"""HTTP benchmark at fixed request rates: our server vs `feast serve`, same data, one run.

Open-loop load with `hey -z 30s -q <per-connection rate> -c <connections>` (apt package
`hey`) against POST /get-online-features (1 ticker x momentum_v1) on:
  - stockfeatures (infra/serve.sh, 2 workers, no recycling): the fresh (hit) path, then
    the stale path (a ticker whose online value predates the latest session)
  - feast serve with defaults (1 worker, recycled every ~1000 requests)
  - feast serve -w 2 --max-requests 1000000
The sample data ends at the latest completed XNYS session at benchmark time, so a read of
a warmed ticker is fresh, as in production. Servers run one at a time; the load generator
shares the 2 cores with the server.
Writes benchmarks/results/http.md and http.json.

    .venv/bin/python benchmarks/bench_http.py [--seconds 30]
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
from bench_online import REPO, RESULTS, build_bench_stack, drop_database  # noqa: E402

RATES = {1000: (20, 50), 2000: (20, 100)}  # target rps: (connections, rate per connection)
HISTORY_DAYS = 545  # as much history as the fixed 2024-01-02..2025-06-30 set had
STALE_TICKER = "STALE"  # online only, a week old: every read of it takes the miss path


def _body(ticker: str) -> str:
    return json.dumps({"entities": {"ticker": [ticker]}, "feature_service": "momentum_v1"})


BODY = _body("AAPL")
STALE_BODY = _body(STALE_TICKER)


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
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50_ms": seconds_at(50),
            "p99_ms": seconds_at(99), "errors": errors + non_200, "statuses": statuses}


def tree_rss_mb(pid: int) -> dict:
    parent = psutil.Process(pid)
    procs = [parent, *parent.children(recursive=True)]
    per = {p.pid: p.memory_info().rss / 2**20 for p in procs if p.is_running()}
    return {"total_mb": sum(per.values()), "largest_mb": max(per.values()), "processes": len(per)}


def run_server(names: dict[str, str], command: list[str], env: dict, port: int,
               seconds: int, check=None) -> list[dict]:
    """One server process, one row set per (label: request body) in `names`, in order."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, process)
        if check is not None:
            check(url)
        results = []
        for name, body in names.items():
            hey(url, 3, 10, 50, body)  # warm connections and caches
            result = {"server": name}
            for target, (connections, per_connection) in RATES.items():
                result[str(target)] = hey(url, seconds, connections, per_connection, body)
            results.append(result)
        rss = tree_rss_mb(process.pid)
        for result in results:
            result["rss"] = rss
        return results
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--tickers", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        raise SystemExit("install the load generator first: apt-get install -y hey")
    admin = os.environ.get("STOCKFEATURES_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    root = Path(tempfile.mkdtemp(prefix="sf-bench-http-"))
    from stockfeatures import trading_calendar

    newest = trading_calendar.latest_completed_session(datetime.now(UTC)).date()
    # Data ends at the latest completed session, so reads take the normal (fresh) path.
    settings, warehouse, store, tickers, db = build_bench_stack(
        args.tickers, root, admin, start=newest - timedelta(days=HISTORY_DAYS), end=newest)
    try:
        from stockfeatures.serving.warm_up import warm_up_store

        warmed = warm_up_store(store, warehouse)
        _write_stale_ticker(store, warehouse)
        env = {**os.environ, **settings.feast_environment(),
               "PROMETHEUS_MULTIPROC_DIR": str(root / "metrics")}
        yaml = str(settings.feature_store_yaml)
        repo = str(settings.feature_repo_dir)
        feast = [str(REPO / ".venv" / "bin" / "feast"), "-c", repo, "-f", yaml, "serve",
                 "--no-access-log"]
        ours = "stockfeatures serve (2 workers)"
        runs = [
            ({f"{ours}, fresh (hit)": BODY, f"{ours}, stale (miss path)": STALE_BODY},
             [str(REPO / "infra" / "serve.sh"), "--port", "18601", "--workers", "2"], 18601,
             check_paths),
            ({"feast serve (defaults)": BODY}, [*feast, "-p", "18602"], 18602, None),
            ({"feast serve -w 2 --max-requests 1000000": BODY},
             [*feast, "-p", "18603", "-w", "2", "--max-requests", "1000000"], 18603, None),
        ]
        results = {"machine": f"{platform.node()} {os.cpu_count()} cores",
                   "date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "newest_session": newest.isoformat(),
                   "newest_event_timestamp": str(warmed.newest_event_timestamp),
                   "seconds": args.seconds, "runs": []}
        for names, command, port, check in runs:
            print(f"running {', '.join(names)} ...", flush=True)
            results["runs"].extend(run_server(names, command, env, port, args.seconds, check))
        results["load_average"] = os.getloadavg()
    finally:
        warehouse.close()
        drop_database(admin, db)
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "http.md").write_text(render(results))
    print(render(results))


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


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def render(r: dict) -> str:
    lines = [
        f"# HTTP serving at fixed rates ({r['date']})", "",
        f"Machine: {r['machine']}, load average at the end "
        f"{', '.join(f'{x:.1f}' for x in r['load_average'])}; hey runs on the same 2 cores.",
        f"Request: POST /get-online-features, 1 ticker x momentum_v1, {r['seconds']} s per rate.",
        "Goals (stockfeatures): 1000 rps with 0 errors and p99 <= 5 ms; 2000 rps with p99 <= 8 ms;"
        " RSS <= 300 MB.",
        "Load shape: hey's per-connection tickers start together, so each rate is a burst of 20"
        " simultaneous requests every 20 ms (1000 rps) or 10 ms (2000 rps); p99 is roughly the"
        " time 2 cores take to drain one burst, hey's own CPU included.",
        f"Data: the sample set ends at the latest completed XNYS session at run time"
        f" ({r['newest_session']}), warmed into Redis, so 'fresh (hit)' is the production"
        " path: one Redis read, value fresh by the trading calendar."
        " 'stale (miss path)': a ticker whose online value is a week old and that the"
        " warehouse cannot refresh; our server answers it through the miss path's 'already"
        " checked this session' marker (each worker re-reads it from Redis at most once a"
        " second), and about every 30 s (the marker's expiry) one request retries the fill."
        " Feast does not check freshness, so it has only the one path.", "",
        "| server | target rps | achieved rps | p50 ms | p99 ms | errors | RSS (largest process / all) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in r["runs"]:
        rss = run["rss"]
        for target in ("1000", "2000"):
            m = run[target]
            lines.append(
                f"| {run['server']} | {target} | {m['rps']:.0f} | {_ms(m['p50_ms'])} | {_ms(m['p99_ms'])} "
                f"| {m['errors']} | {rss['largest_mb']:.0f} MB / {rss['total_mb']:.0f} MB "
                f"({rss['processes']} processes) |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
