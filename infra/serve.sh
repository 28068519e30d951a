#!/usr/bin/env bash
# Start the HTTP feature server with several workers and correct Prometheus metrics.
# PROMETHEUS_MULTIPROC_DIR must be set before any Python process imports prometheus-client,
# and wiped at every start so counters of a previous run (and dead workers) do not linger.
# Usage: infra/serve.sh [--host H] [--port P] [--workers N]  (profile: STOCKFEATURES_PROFILE)
set -euo pipefail
cd "$(dirname "$0")/.."

export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/stockfeatures-metrics}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" -m stockfeatures.cli serve "$@"
