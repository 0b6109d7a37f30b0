#!/usr/bin/env bash
# Discovery at 1,001 tools (issue figures: a full paged tools/list walk at 100 walks/s,
# server/discover, list_changed to 100 listeners, memory per 1,000 tools), measured by the
# harness and, in the same run, by independent tools: oha (`-q R --latency-correction`) on
# server/discover and on one page of tools/list (oha cannot follow cursors: a walk is 11
# pages), and scripts/list_changed_referee.py for list_changed. Release build of the local
# tier (config/local_discovery_scale_config.yaml, stateless, limits lifted, audit off) and
# of mcp-slo; services from scripts/setup-services.sh. Loopback only.
#   bash scripts/bench/discovery.sh            # DURATION=20s WALKS=100
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../env.sh
source scripts/env.sh
OHA=${OHA:-$(bash scripts/oha.sh)}
REL=$CARGO_TARGET_DIR/release
PORT=${PORT:-18903}
DURATION=${DURATION:-20s}
WALKS=${WALKS:-100}
out=$(mktemp -d)
URL=http://127.0.0.1:$PORT/mcp
start() { # config network -> pid
  "$REL/mcp-local-server" --listen 127.0.0.1:$PORT --mode stateless --lift-limits --audit off \
    --config "$1" --network "$2" >"$out/server.log" 2>&1 &
  echo $!
}
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}'
post() { # method [params-json-without-braces]
  curl -s -X POST "$URL" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -H 'mcp-protocol-version: 2026-07-28' -H "mcp-method: $1" -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":{${2:+$2,}$META}}"
}
tools() { # every page's tools, counted
  local cursor='' n=0 page
  while :; do
    page=$(post tools/list ${cursor:+"\"cursor\":\"$cursor\""})
    n=$((n + $(jq '.result.tools | length' <<<"$page")))
    cursor=$(jq -r '.result.nextCursor // empty' <<<"$page")
    [[ -z $cursor ]] && break
  done
  echo $n
}
ready() { # waits for at least $1 tools listed
  for _ in $(seq 1 150); do
    [[ $(tools 2>/dev/null || echo 0) -ge $1 ]] && return 0
    sleep 0.2
  done
  echo "the server did not list $1 tools" >&2; return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Memory: the same binary with the seed's tools, then with 1,001.
PID=$(start config/local_mcp_server_config.yaml config/network_isolation.yaml)
trap 'kill $PID 2>/dev/null || true; rm -rf "$out"' EXIT
ready 1; small_tools=$(tools); small=$(rss_kib $PID)
kill $PID; wait $PID 2>/dev/null || true
PID=$(start config/local_discovery_scale_config.yaml config/local_discovery_scale_network.yaml)
ready 1000; big_tools=$(tools); big=$(rss_kib $PID)
echo "memory: $small_tools tools ${small} KiB RSS, $big_tools tools ${big} KiB RSS: $(( (big - small) * 1000 / (big_tools - small_tools) )) KiB per 1,000 tools"

# Walks and discovers, the harness and oha at the same time.
cat >"$out/walks.yaml" <<YAML
version: mcp-slo/v1
name: discovery-bench
targets:
  local: { url: "$URL", mode: stateless }
load:
  model: open
  phases:
    - { name: warmup, duration: 3s, rate: 20/s, record: false }
    - { name: steady, duration: $DURATION, rate: $((2 * WALKS))/s }
mix:
  - { target: local, label: walk, method: tools/list, walk: true, weight: 1 }
  - { target: local, label: discover, method: server/discover, weight: 1 }
slo:
  - { tool: walk, latency: { p: 99, below: 5ms } }
  - { tool: discover, latency: { p: 99, below: 2ms } }
YAML
oha_run() { # label rate method body
  "$OHA" --no-tui -z "$DURATION" -q "$2" --latency-correction --output-format json -m POST \
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -H 'mcp-protocol-version: 2026-07-28' -H "mcp-method: $3" -d "$4" "$URL" >"$out/$1.json"
}
"$REL/mcp-slo" run "$out/walks.yaml" --out "$out/walks" --no-progress-bar >"$out/harness.txt" 2>&1 &
H=$!
sleep 3   # the harness's warm-up
oha_run discover "$WALKS" server/discover "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{$META}}" &
O1=$!
oha_run page $((11 * WALKS)) tools/list "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{$META}}" &
O2=$!
wait $O1 $O2 || true
wait $H || true
for t in walk discover; do
  jq -r --arg t "$t" '.tools[$t] | "harness \($t): \(.latency.count) calls, p50 \(.latency.p50_us) µs, p99 \(.latency.p99_us) µs, errors \(.error_rate)"' "$out/walks/result.json"
done
for l in discover page; do
  jq -r --arg l "$l" '"oha \($l): \(.summary.requestsPerSec | floor)/s, p50 \(.latencyPercentiles.p50 * 1e6 | floor) µs, p99 \(.latencyPercentiles.p99 * 1e6 | floor) µs, statuses \(.statusCodeDistribution)"' "$out/$l.json"
done

# list_changed: 100 listeners, the harness's probe, then the referee on the same server.
cat >"$out/listen.yaml" <<YAML
version: mcp-slo/v1
name: list-changed-bench
targets:
  local: { url: "$URL", mode: stateless }
probes:
  list_changed:
    listeners: 100
    changes: 20
    within: 100ms
    add:
      url: /admin/tools
      body: { name: "registered_{n}", base: postgres_query, preset: { database: agents } }
    remove: { method: DELETE, url: "/admin/tools/registered_{n}" }
YAML
"$REL/mcp-slo" run "$out/listen.yaml" --out "$out/listen" --no-progress-bar >"$out/listen.txt" 2>&1 || true
jq -r '.probes[] | "harness list_changed: \(.measured)"' "$out/listen/result.json"
python3 scripts/list_changed_referee.py "$URL" --listeners 100 --changes 20
