#!/usr/bin/env bash
# What the rate limit shared through Redis costs one replica: the local tier (release,
# `--mode stateless --lift-limits --audit off --workers 1`, so the limit is checked on
# every call and refuses none), `file_read` of a 29-byte fixture, without and with
# `--rate-limit-redis` (the Redis of this machine), alternated, ROUNDS (2) rounds each.
# Load: oha (independent; `scripts/oha.sh` installs it), closed loop, 32 connections, one
# thread, 3 s warm-up then DURATION (10s) per case. Server CPU per call from /proc; with
# the shared limit, the mean time of its checks from /metrics. Needs the release build
# (`cargo build --release -p mcp-local-server`) and the services
# (`scripts/setup-services.sh`). Loopback only. STORE names another Redis (default
# REDIS_URL); SERVER_CPUS and CLIENT_CPUS pin the server and oha with taskset (e.g. 0 and
# 1, with a Redis started on CPU 1 as STORE, so that the server has a core to itself).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../env.sh
source scripts/env.sh
OHA=${OHA:-$(bash scripts/oha.sh)}
BIN=${BIN:-$CARGO_TARGET_DIR/release/mcp-local-server}
PORT=${PORT:-18182}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
STORE=${STORE:-${REDIS_URL:-redis://127.0.0.1:6379/0}}
# The server and oha, pinned if asked (taskset execs them: the process id is the server's).
server=("$BIN")
[[ -n ${SERVER_CPUS:-} ]] && server=(taskset -c "$SERVER_CPUS" "${server[@]}")
client=("$OHA")
[[ -n ${CLIENT_CPUS:-} ]] && client=(taskset -c "$CLIENT_CPUS" "${client[@]}")
out=$(mktemp -d)
PID=
trap '[[ -n $PID ]] && kill $PID 2>/dev/null; rm -rf "$out"' EXIT
mkdir -p "$out/root/data/reports" "$out/root/data/config"
printf 'date,orders\n2026-11-01,965\n' >"$out/root/data/reports/daily.csv"
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"file_read","arguments":{"path":"reports/daily.csv"}}}'
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$PID/stat"; }
start() {
  MCP_SLO_DATA_ROOT=$out/root "${server[@]}" --listen 127.0.0.1:$PORT --mode stateless \
    --lift-limits --audit off --workers 1 "$@" >"$out/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && return; sleep 0.2; done
  echo "the server did not start:" >&2
  cat "$out/server.log" >&2
  exit 3
}
stop() {
  kill "$PID"
  wait "$PID" || true
  PID=
}
oha() {
  "${client[@]}" --no-tui -c 32 --worker-threads 1 -m POST -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \
    -d "$BODY" "$@" "http://127.0.0.1:$PORT/mcp"
}
run() { # label
  oha -z 3s >/dev/null
  local t0 t1
  t0=$(ticks)
  oha -z "$DURATION" --output-format json >"$out/$1.json"
  t1=$(ticks)
  local checks
  checks=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '
    /^mcp_rate_limit_store_check_duration_seconds_sum/ {s=$2}
    /^mcp_rate_limit_store_check_duration_seconds_count/ {c=$2}
    /^mcp_rate_limit_store_checks_total\{result="failed"\}/ {f=$2}
    END {if (c > 0) printf ", %d store checks, mean %.0f µs, %d failed", c, s / c * 1e6, f}')
  jq -r --arg l "$1" --argjson t "$((t1 - t0))" --argjson hz "$hz" --arg checks "$checks" '
    (.statusCodeDistribution["200"] // 0) as $ok |
    "\($l): \(.summary.requestsPerSec | floor) req/s, p50 \(.latencyPercentiles.p50 * 1e6 | floor) µs, p99 \(.latencyPercentiles.p99 * 1e6 | floor) µs, 200s \($ok), other \(.statusCodeDistribution | to_entries | map(select(.key != "200")) | map("\(.key):\(.value)") | join(",")), server CPU \($t / $hz * 1e6 / ($ok + 0.001) | . * 10 | floor / 10) µs/call\($checks)"' "$out/$1.json"
}
for round in $(seq 1 "$ROUNDS"); do
  start
  run "local-$round"
  stop
  start --rate-limit-redis "$STORE" --rate-limit-key "mcp-slo:bench:rate:$$"
  run "shared-$round"
  stop
done
