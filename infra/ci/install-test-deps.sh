#!/usr/bin/env bash
# System programs the test suite runs for real: Prometheus + promtool (alert rules, scrape
# and PromQL checks) and docker-compose (validates docker-compose.yml without an engine).
# Installs them with apt when missing and we are root; otherwise says what to install.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test dependencies: $packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
    # Debian's package starts a prometheus service on :9090; the tests run their own.
    (pkill -x prometheus || true) 2>/dev/null
else
    echo "missing test dependencies: $packages (Debian/Ubuntu: sudo apt-get install $packages)" >&2
    exit 1
fi
