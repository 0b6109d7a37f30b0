#!/usr/bin/env bash
# tools/list on the local tier, answered by the direct path (a plain Accept header) and by
# rmcp's per-request service (the same Accept with `;q=1`, which the direct path leaves to
# rmcp), in the legacy form (2025-11-25) and as MCP 2026-07-28, on one server, two
# alternated rounds. Load: oha (independent; `scripts/oha.sh` installs it), closed loop,
# 32 connections, one thread, 3 s warm-up then DURATION (10s) per case. Server CPU per
# request from /proc. Needs the release build (`cargo build --workspace --release`) and
# the services (`scripts/setup-services.sh`). Loopback only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../env.sh
source scripts/env.sh
OHA=${OHA:-$(bash scripts/oha.sh)}
BIN=$CARGO_TARGET_DIR/release/mcp-local-server
PORT=${PORT:-18181}
DURATION=${DURATION:-10s}
out=$(mktemp -d)
$BIN --listen 127.0.0.1:$PORT --mode stateless --lift-limits --audit off >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$out"' EXIT
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.2; done
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}'
ticks() { awk '{print $14+$15}' /proc/$PID/stat; }
hz=$(getconf CLK_TCK)
run() { # label accept version body extra-headers...
  local label=$1 accept=$2 version=$3 body=$4; shift 4
  "$OHA" --no-tui -z 3s -c 32 --worker-threads 1 -m POST -H 'content-type: application/json' -H "accept: $accept" -H "mcp-protocol-version: $version" "$@" -d "$body" "http://127.0.0.1:$PORT/mcp" >/dev/null
  local t0; t0=$(ticks)
  "$OHA" --no-tui -z "$DURATION" -c 32 --worker-threads 1 --output-format json -m POST -H 'content-type: application/json' -H "accept: $accept" -H "mcp-protocol-version: $version" "$@" -d "$body" "http://127.0.0.1:$PORT/mcp" >"$out/$label.json"
  local t1; t1=$(ticks)
  jq -r --arg l "$label" --argjson t "$((t1 - t0))" --argjson hz "$hz" '
    (.statusCodeDistribution["200"] // 0) as $ok |
    "\($l): \(.summary.requestsPerSec | floor) req/s, p50 \(.latencyPercentiles.p50 * 1e6 | floor) µs, p99 \(.latencyPercentiles.p99 * 1e6 | floor) µs, 200s \($ok), other \(.statusCodeDistribution | to_entries | map(select(.key != "200")) | map("\(.key):\(.value)") | join(",")), server CPU \($t / $hz * 1e6 / ($ok + 0.001) | . * 10 | floor / 10) µs/req"' "$out/$label.json"
}
for round in 1 2; do
  run "legacy-direct-$round" 'application/json, text/event-stream' 2025-11-25 '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  run "legacy-rmcp-$round" 'application/json;q=1, text/event-stream' 2025-11-25 '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  run "2026-direct-$round" 'application/json, text/event-stream' 2026-07-28 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{$META}}" -H 'mcp-method: tools/list'
  run "2026-rmcp-$round" 'application/json;q=1, text/event-stream' 2026-07-28 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{$META}}" -H 'mcp-method: tools/list'
done
curl -s http://127.0.0.1:$PORT/metrics | grep mcp_direct_requests_total
