#!/usr/bin/env bash
# A local Ray cluster for the `cluster` profile's tests and benchmarks: one head node and
# one worker node on loopback, i.e. two `ray start` processes, each in its own process group.
#
#   infra/ray-cluster.sh start [PORT]         # default 6390 (the head's GCS port)
#   infra/ray-cluster.sh stop [PORT]
#   infra/ray-cluster.sh address [PORT]       # prints STOCKFEATURES_RAY_ADDRESS=127.0.0.1:PORT
#   infra/ray-cluster.sh kill-worker [PORT]   # SIGKILL the worker node's processes (fault tests)
#   infra/ray-cluster.sh start-worker [PORT]  # start a worker node again and wait for it
#
# Never 6379 (Redis' port). The other ports are PORT+1 ... PORT+14 (client server, node and
# object managers, agents) and worker ports PORT+100 ... PORT+199 (head) and PORT+200 ...
# PORT+299 (worker). CPUs per node: RAY_NUM_CPUS (default 1); object store per node:
# RAY_OBJECT_STORE_BYTES (default 256 MiB). State (pid files, Ray's temp dir and logs) is in
# ${RAY_CLUSTER_DIR:-${TMPDIR:-/tmp}/sf-ray-PORT}. Each node runs as `ray start --block` under
# setsid; `stop` and `kill-worker` signal only the process groups whose pids they wrote there
# (never `ray stop`, which kills every Ray process on the machine).
set -euo pipefail

command=${1:-}
port=${2:-${RAY_PORT:-6390}}
if [ "$port" = 6379 ]; then
  echo "port 6379 is Redis' port; give the Ray head another one (e.g. 6390)" >&2
  exit 2
fi
state_dir=${RAY_CLUSTER_DIR:-${TMPDIR:-/tmp}/sf-ray-${port}}
num_cpus=${RAY_NUM_CPUS:-1}
object_store=${RAY_OBJECT_STORE_BYTES:-268435456}
wait_s=${RAY_CLUSTER_WAIT_S:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
ray_bin=${RAY_BIN:-}
if [ -z "$ray_bin" ]; then
  if [ -x "$here/.venv/bin/ray" ]; then ray_bin="$here/.venv/bin/ray"; else ray_bin=$(command -v ray || true); fi
fi
address="127.0.0.1:${port}"
export RAY_USAGE_STATS_ENABLED=0

need_ray() {
  [ -n "$ray_bin" ] && [ -x "$ray_bin" ] || { echo "ray not found: run 'make venv' (ray is pinned in pyproject.toml) or set RAY_BIN" >&2; exit 1; }
}

start_node() {  # name, then `ray start` arguments
  local name=$1
  shift
  mkdir -p "$state_dir/$name"
  setsid "$ray_bin" start --block --disable-usage-stats --node-ip-address 127.0.0.1 \
    --num-cpus "$num_cpus" --object-store-memory "$object_store" "$@" \
    >"$state_dir/$name/ray-start.log" 2>&1 < /dev/null &
  echo $! >"$state_dir/$name/pgid"
}

node_count() {
  "$(dirname "$ray_bin")/python" - "$address" <<'EOF' 2>/dev/null || echo 0
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(1 for node in ray.nodes() if node["Alive"]))
EOF
}

wait_for_nodes() {
  local want=$1 deadline=$(( $(date +%s) + wait_s ))
  until [ "$(node_count | tail -1)" = "$want" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "Ray cluster on $address: not $want live nodes after ${wait_s}s (logs in $state_dir)" >&2
      tail -20 "$state_dir"/*/ray-start.log >&2 || true
      return 1
    fi
    sleep 1
  done
}

descendants() {  # every process below pid $1 (Ray's workers leave the process group)
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

kill_group() {  # name [signal]: the node's process group plus its descendants
  local pid_file="$state_dir/$1/pgid" signal=${2:-TERM}
  [ -f "$pid_file" ] || return 0
  local pgid pids
  pgid=$(cat "$pid_file")
  pids=$(descendants "$pgid")
  kill "-$signal" -- "-$pgid" 2>/dev/null || true
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill "-$signal" $pids 2>/dev/null || true
  for _ in $(seq 100); do
    alive=0
    for pid in $pgid $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  rm -f "$pid_file"
}

start_worker() {
  start_node worker --address "$address" --node-manager-port $((port + 6)) \
    --object-manager-port $((port + 7)) --dashboard-agent-listen-port $((port + 8)) \
    --dashboard-agent-grpc-port $((port + 9)) --metrics-export-port $((port + 10)) \
    --runtime-env-agent-port $((port + 11)) \
    --min-worker-port $((port + 200)) --max-worker-port $((port + 299))
}

start_cluster() {
  need_ray
  if [ -d "$state_dir" ]; then
    echo "$state_dir exists: a Ray cluster on port $port may be running; run '$0 stop $port' first" >&2
    exit 1
  fi
  mkdir -p "$state_dir"
  start_node head --head --port "$port" --temp-dir "$state_dir/tmp" --include-dashboard false --dashboard-port $((port + 14)) \
    --ray-client-server-port $((port + 1)) --node-manager-port $((port + 2)) \
    --object-manager-port $((port + 3)) --dashboard-agent-listen-port $((port + 4)) \
    --dashboard-agent-grpc-port $((port + 5)) --metrics-export-port $((port + 12)) \
    --runtime-env-agent-port $((port + 13)) \
    --min-worker-port $((port + 100)) --max-worker-port $((port + 199))
  wait_for_nodes 1 || { stop_cluster; exit 1; }
  start_worker
  wait_for_nodes 2 || { stop_cluster; exit 1; }
  echo "STOCKFEATURES_RAY_ADDRESS=$address"
}

stop_cluster() {
  [ -d "$state_dir" ] || return 0
  kill_group worker
  kill_group head
  rm -rf "$state_dir"
}

case "$command" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  address) echo "STOCKFEATURES_RAY_ADDRESS=$address" ;;
  kill-worker) kill_group worker KILL ;;
  start-worker)
    need_ray
    [ -d "$state_dir" ] || { echo "no Ray cluster state in $state_dir: run '$0 start $port'" >&2; exit 1; }
    start_worker
    wait_for_nodes 2 ;;
  *) echo "usage: $0 start|stop|address|kill-worker|start-worker [PORT]" >&2; exit 2 ;;
esac
