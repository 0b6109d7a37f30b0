#!/usr/bin/env bash
# The harness's own ceiling against the cheapest tool (file_read), next to oha on the same
# MCP call and server, one after the other. Release builds; limits lifted; stateless mode.
# Needs `cargo install oha`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../env.sh
source "$here/env.sh"
cd "$MCP_SLO_ROOT"
bash scripts/setup-services.sh
cargo build --release --locked -p mcp-local-server -p mcp-slo
bin="$CARGO_TARGET_DIR/release"
command -v oha >/dev/null || { echo "oha is not installed: cargo install oha" >&2; exit 3; }
duration=${DURATION:-10}

port=18180
"$bin/mcp-local-server" --mode stateless --listen 127.0.0.1:$port --lift-limits --audit off >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"file_read","arguments":{"path":"reports/daily.csv"}}}'
echo "== oha: 32 connections, ${duration}s"
oha -c 32 -z "${duration}s" --no-tui -m POST \
  -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
  -H 'mcp-protocol-version: 2025-11-25' -d "$body" "http://127.0.0.1:$port/mcp" | grep -E "Requests/sec|Success rate|50.00%|99.00%|Slowest|Status code|\[200\]" || true
kill $server; wait $server 2>/dev/null || true
trap - EXIT

echo "== mcp-slo: scenarios/ceiling.yaml (32 workers, offered 40000/s)"
MCP_SLO_LOCAL_SERVER="$bin/mcp-local-server" "$bin/mcp-slo" run scenarios/ceiling.yaml --no-progress-bar --out ".bench/ceiling-$(date +%s)" | sed -n '1,12p'
