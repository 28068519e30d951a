"""Constant-rate arrivals spread evenly in time, built from hey (apt package `hey`).

`hey -c 20 -q 50` starts all 20 connections' tickers together, so 1000 rps arrives as a
burst of 20 requests every 20 ms and p99 measures the queue behind that burst. Here each
connection is its own `hey -c 1 -q <rate>` process, and the processes start period/N apart
(period = 1/rate), so the same 20 connections at the same rate send one request every
1 ms (1000 rps) or 0.5 ms (2000 rps): the arrival shape of many independent clients.
Each process writes every answered request to CSV (`-o csv`); the percentiles are over all
of them. hey's CSV lists answered requests only, and hey skips a tick while its connection's
request is still open (Go's time.Tick drops ticks for a slow receiver), so the shortfall
against the requests offered (rate x seconds per process) is reported apart as "unsent":
requests not sent on time or not answered. "errors" counts answers other than 200.

Why not autocannon -R: its rate limit refills once per second, so each second starts
with a burst of the whole second's quota (lib/httpClient.js, reqsMadeThisSecond).
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from pathlib import Path


def _percentile(sorted_ms: list[float], pct: float) -> float | None:
    if not sorted_ms:
        return None
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * pct / 100))]


def hey_spread(url: str, seconds: int, connections: int, per_connection: int, body: str) -> dict:
    """Same keys as bench_http.hey: rps, p50_ms, p99_ms, max_ms, errors, statuses."""
    gap_s = 1.0 / per_connection / connections
    with tempfile.TemporaryDirectory(prefix="sf-spread-") as folder:
        outs = [Path(folder) / f"{n}.csv" for n in range(connections)]
        processes = []
        next_start = time.perf_counter()
        for out in outs:
            while time.perf_counter() < next_start:  # spin: sleep() is too coarse for 0.5 ms
                pass
            processes.append(subprocess.Popen(
                ["hey", "-z", f"{seconds}s", "-c", "1", "-q", str(per_connection), "-o", "csv",
                 "-m", "POST", "-T", "application/json", "-d", body, f"{url}/get-online-features"],
                stdout=out.open("w"), stderr=subprocess.DEVNULL))
            next_start += gap_s
        for process in processes:
            process.wait()
        latencies, statuses = [], {}
        for out in outs:
            with out.open() as handle:
                for row in csv.DictReader(handle):
                    latencies.append(float(row["response-time"]) * 1e3)
                    code = int(row["status-code"])
                    statuses[code] = statuses.get(code, 0) + 1
    latencies.sort()
    answered = len(latencies)
    offered = seconds * per_connection * connections
    shortfall = max(0, offered - answered - connections)  # one tick per process may miss the end
    non_200 = sum(n for code, n in statuses.items() if code != 200)
    return {"rps": answered / seconds, "p50_ms": _percentile(latencies, 50),
            "p99_ms": _percentile(latencies, 99), "max_ms": latencies[-1] if latencies else None,
            "errors": non_200, "unsent": shortfall, "statuses": statuses}
