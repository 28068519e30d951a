"""Fault: a Redis Cluster master dies under read load (issue 12, step 2).

Its replica is promoted; meanwhile reads fall back to the warehouse through the breaker.
The test reports the failed requests and the recovery time (time from the kill until every
read is answered from the online store again) and checks that no read served a value other
than the warehouse's latest one, whichever tier answered. The killed node is restarted with
infra/redis-cluster.sh start-node afterwards, so it rejoins as a replica and the session's cluster is
whole again for the tests after this one.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.integration.profile_stack import TICKERS
from tests.integration.serving.conftest import make_server
from tests.services import CLUSTER_SCRIPT

pytestmark = pytest.mark.integration

FEATURES = ["ret_1d", "ret_20d", "vol_20d"]
LOAD_THREADS = 4
# Liveness bounds, not performance claims: a node timeout of 2 s (infra/redis-cluster.sh)
# plus the replica's election take a few seconds.
PROMOTION_DEADLINE_S = 30.0
RECOVERY_DEADLINE_S = 30.0


def _node(host_port: str):
    import redis

    host, port = host_port.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), socket_timeout=1, socket_connect_timeout=1)


def _cluster_nodes(any_node) -> list[dict]:
    """CLUSTER NODES (redis-py parses it): address, flags, master id of every node."""
    return [{"id": node["node_id"], "address": address, "flags": node["flags"].split(","),
             "master": node["master_id"]}
            for address, node in any_node.execute_command("CLUSTER NODES").items()]


def _ok_state(node) -> bool:
    try:
        return node.execute_command("CLUSTER INFO")["cluster_state"] == "ok"
    except Exception:
        return False


class ReadLoad:
    """Threads reading TICKERS in a loop; each read's time, outcome and values are kept."""

    def __init__(self, server):
        self.server = server
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.reads: list[tuple[float, dict | None, set[str]]] = []  # (time, values, sources)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOAD_THREADS)]

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                response = self.server.get_features(TICKERS, features=FEATURES)
                values = {t: {f: response[t].values[f].value for f in FEATURES} for t in TICKERS}
                sources = set().union(*(response[t].sources for t in TICKERS))
                statuses = {response[t].status for t in TICKERS}
                if statuses != {"fresh"}:
                    values = None  # counted as failed: a read must answer every ticker
            except Exception:
                values, sources = None, set()
            with self.lock:
                self.reads.append((started, values, sources))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


def test_killed_master_is_replaced_by_its_replica_and_no_wrong_value_is_served(stack):
    server = make_server(stack)
    expected = stack.warehouse.latest_features(TICKERS).set_index("ticker")
    seed = stack.settings.redis_cluster.nodes[0]
    entry = _node(f"{seed[0]}:{seed[1]}")
    topology = _cluster_nodes(entry)
    victim_address = server.redis.get_node_from_key(server.reader.key("AAPL")).name
    victim = next(n for n in topology if n["address"] == victim_address)
    assert "master" in victim["flags"]
    replica = next(n for n in topology if n["master"] == victim["id"])
    victim_client = _node(victim_address)
    pid = int(victim_client.info("server")["process_id"])
    state_dir = Path(victim_client.config_get("dir")["dir"]).parent  # infra/redis-cluster.sh's
    survivor = _node(next(n["address"] for n in topology if n["id"] not in (victim["id"], replica["id"])))

    with ReadLoad(server) as load:
        time.sleep(1.0)
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        deadline = killed_at + PROMOTION_DEADLINE_S
        while not ("master" in next(n for n in _cluster_nodes(survivor) if n["id"] == replica["id"])["flags"]
                   and _ok_state(survivor)):
            assert time.monotonic() < deadline, "the replica was not promoted"
            time.sleep(0.1)
        promoted_at = time.monotonic()
        deadline = promoted_at + RECOVERY_DEADLINE_S
        while True:
            with load.lock:
                recent = [r for r in load.reads if r[0] > promoted_at]
            if len(recent) > 20 and all(r[2] == {"online"} for r in recent[-20:]):
                break
            assert time.monotonic() < deadline, "reads did not return to the online store"
            time.sleep(0.1)
        time.sleep(0.5)

    reads = sorted(load.reads)
    after_kill = [r for r in reads if r[0] >= killed_at]
    failed = [r for r in reads if r[1] is None]
    not_online = [r for r in after_kill if r[2] != {"online"}]
    back_online_at = next(
        (r[0] for i, r in enumerate(after_kill) if all(x[2] == {"online"} for x in after_kill[i:])), None)
    wrong = [(t, f, v) for _, values, _ in reads if values for t in TICKERS for f in FEATURES
             if (v := values[t][f]) is None or not math.isclose(v, float(expected.loc[t, f]), rel_tol=1e-12)]
    print(f"\nmaster {victim_address} killed under {LOAD_THREADS} reader threads: {len(reads)} reads, "
          f"{len(failed)} failed, {len(not_online)} answered from the warehouse after the kill; "
          f"replica {replica['address']} promoted after {promoted_at - killed_at:.2f} s; "
          f"reads back on the online store {back_online_at - killed_at:.2f} s after the kill")

    subprocess.run([str(CLUSTER_SCRIPT), "start-node", victim_address.rsplit(":", 1)[1]],
                   env={**os.environ, "REDIS_CLUSTER_DIR": str(state_dir)}, check=True, timeout=60)
    deadline = time.monotonic() + PROMOTION_DEADLINE_S
    while not (_ok_state(survivor) and sum("fail" not in n["flags"] and "noaddr" not in n["flags"]
                                           for n in _cluster_nodes(survivor)) == 6):
        assert time.monotonic() < deadline, "the killed node did not rejoin the cluster"
        time.sleep(0.2)

    assert not wrong, f"values other than the warehouse's latest were served: {wrong[:5]}"
    assert not failed, f"{len(failed)} of {len(reads)} reads failed"
    assert back_online_at is not None
