#!/usr/bin/env bash
# A local Redis Cluster for the `cluster` profile's tests and benchmarks: 6 redis-server
# processes on loopback (3 masters, 3 replicas), no persistence, data in a temporary folder.
#
#   infra/redis-cluster.sh start [PORT...]   # default 7101 7102 7103 7104 7105 7106
#   infra/redis-cluster.sh stop  [PORT...]
#   infra/redis-cluster.sh nodes [PORT...]   # prints STOCKFEATURES_REDIS_CLUSTER_NODES
#   infra/redis-cluster.sh start-node PORT [PORT...]  # bring back one killed node (fault
#                                    # tests): it rejoins from its nodes.conf, as a replica
#
# Ports may also come from REDIS_CLUSTER_PORTS="7101 7102 ...". Each node also opens its
# cluster bus on port+10000. `start` waits until every node reports cluster_state:ok and
# prints the STOCKFEATURES_REDIS_CLUSTER_NODES value to export. The state folder (pid files,
# nodes.conf, logs) is ${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/stockfeatures-redis-cluster-FIRSTPORT};
# `stop` kills only the processes whose pid files it wrote there, then removes the folder.
set -euo pipefail

command=${1:-}
shift || true
node_port=""
if [ "$command" = "start-node" ]; then
  node_port=${1:?start-node needs the port of the node to start}
  shift
fi
if [ "$#" -gt 0 ]; then
  ports=("$@")
else
  read -r -a ports <<< "${REDIS_CLUSTER_PORTS:-7101 7102 7103 7104 7105 7106}"
fi
if [ "${#ports[@]}" -lt 6 ] || [ $(( ${#ports[@]} % 2 )) -ne 0 ]; then
  echo "need an even number of ports, at least 6 (3 masters + 3 replicas), got: ${ports[*]}" >&2
  exit 2
fi
state_dir=${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/stockfeatures-redis-cluster-${ports[0]}}
wait_s=${REDIS_CLUSTER_WAIT_S:-30}

nodes_value() {
  local IFS=,
  local listed=()
  for port in "${ports[@]}"; do listed+=("127.0.0.1:${port}"); done
  echo "${listed[*]}"
}

stop_cluster() {
  [ -d "$state_dir" ] || return 0
  for pid_file in "$state_dir"/*/redis.pid; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || true
  done
  for pid_file in "$state_dir"/*/redis.pid; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$state_dir"
}

start_node() {
  local port=$1 node_dir="$state_dir/$1"
  mkdir -p "$node_dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$node_dir" \
    --pidfile "$node_dir/redis.pid" --logfile "$node_dir/redis.log" \
    --cluster-enabled yes --cluster-config-file "$node_dir/nodes.conf" \
    --cluster-node-timeout "${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}" \
    --save "" --appendonly no
}

restart_node() {
  [ -f "$state_dir/$node_port/nodes.conf" ] || { echo "no node $node_port in $state_dir" >&2; exit 1; }
  start_node "$node_port"
  for _ in $(seq 100); do
    redis-cli -p "$node_port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server on port $node_port did not start (see $state_dir/$node_port/redis.log)" >&2
  exit 1
}

start_cluster() {
  for binary in redis-server redis-cli; do
    command -v "$binary" >/dev/null || { echo "$binary not found on PATH (apt-get install redis-server)" >&2; exit 1; }
  done
  if [ -d "$state_dir" ]; then
    echo "$state_dir exists: a cluster on these ports may be running; run '$0 stop ${ports[*]}' first" >&2
    exit 1
  fi
  mkdir -p "$state_dir"
  for port in "${ports[@]}"; do start_node "$port"; done
  for port in "${ports[@]}"; do
    for _ in $(seq 100); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null || { echo "redis-server on port $port did not start (see $state_dir/$port/redis.log)" >&2; stop_cluster; exit 1; }
  done
  addresses=()
  for port in "${ports[@]}"; do addresses+=("127.0.0.1:${port}"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$state_dir/create.log" 2>&1 \
    || { cat "$state_dir/create.log" >&2; stop_cluster; exit 1; }
  deadline=$(( $(date +%s) + wait_s ))
  for port in "${ports[@]}"; do
    until redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "cluster not ok after ${wait_s}s on port $port" >&2
        redis-cli -p "$port" cluster info >&2 || true
        stop_cluster
        exit 1
      fi
      sleep 0.2
    done
  done
  echo "STOCKFEATURES_REDIS_CLUSTER_NODES=$(nodes_value)"
}

case "$command" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  nodes) echo "STOCKFEATURES_REDIS_CLUSTER_NODES=$(nodes_value)" ;;
  start-node) restart_node ;;
  *) echo "usage: $0 start|stop|nodes [PORT...] | start-node PORT [PORT...]" >&2; exit 2 ;;
esac
