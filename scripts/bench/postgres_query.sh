#!/usr/bin/env bash
# Side-by-side benchmark of the local tier's postgres_query against MCP Toolbox for
# Databases, on the same primary-key SELECT over the 100k-row `orders` table of `agents`.
# Cases, one after another, each for the same duration (see scripts/bench/README.md):
#   a  ours: stateless, limits lifted, audit off
#   b  ours: as a, plus --bare (no admission stack, audit or tool spans)
#   c  ours: stateless, limits lifted, audit to a file
#   d  ours: session mode (MCP sessions, SSE answers), limits lifted, audit off
#   e  Toolbox: postgres-sql tool, same statement, same pool size, default logging
#   f  Toolbox as e with --log-level WARN (no per-request access log)
# Environment knobs: DURATION (15s), WARMUP (3s), CONCURRENCY (32), POOL_SIZE (16),
# CASES ("a b c d e f"), TOOLBOX_VERSION (1.12.0), PERF=1 (profile case a's server for 10 s).
# Loopback only: every server listens on 127.0.0.1 and the load goes nowhere else.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../env.sh
source scripts/env.sh
# Never export spans anywhere during a benchmark.
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONCURRENCY=${CONCURRENCY:-32}
POOL_SIZE=${POOL_SIZE:-16}
CASES=${CASES:-a b c d e f}
TOOLBOX_VERSION=${TOOLBOX_VERSION:-1.12.0}
PORT_OURS=${PORT_OURS:-18080}
PORT_TOOLBOX=${PORT_TOOLBOX:-15000}
PERF=${PERF:-0}

bench_dir=$root/.bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run_dir=$bench_dir/run-$stamp
mkdir -p "$run_dir"
results=$bench_dir/results-$stamp.md
log() { printf '[bench] %s\n' "$*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

# --- set-up ----------------------------------------------------------------------------
log "services"
bash scripts/setup-services.sh
log "building release binaries (server + mcp_bench)"
cargo build --release -q -p mcp-local-server --bin mcp-local-server --example mcp_bench
server_bin=$CARGO_TARGET_DIR/release/mcp-local-server
bench_bin=$CARGO_TARGET_DIR/release/examples/mcp_bench

toolbox_dir=$bench_dir/toolbox
toolbox_bin=$toolbox_dir/node_modules/@toolbox-sdk/server-linux-x64/bin/toolbox
if [ ! -x "$toolbox_bin" ]; then
  log "installing Toolbox $TOOLBOX_VERSION from npm"
  mkdir -p "$toolbox_dir"
  npm install --silent --no-audit --no-fund --prefix "$toolbox_dir" "@toolbox-sdk/server-linux-x64@$TOOLBOX_VERSION"
fi
toolbox_version=$("$toolbox_bin" --version 2>/dev/null | awk '{print $NF}')
# Toolbox's flat config format. pool_max_conns matches our --pool-size (pgx's own default
# is max(4, cores) connections). The password is the dev role's, trust auth on loopback.
cat > "$toolbox_dir/tools.yaml" <<EOF
kind: source
name: agents-pg
type: postgres
host: 127.0.0.1
port: 5432
database: agents
user: mcp_agent
password: mcp_agent_dev
queryParams:
  pool_max_conns: "$POOL_SIZE"
---
kind: tool
name: get_order
type: postgres-sql
source: agents-pg
description: Fetch one order by primary key.
parameters:
- name: id
  type: integer
  description: The order id.
statement: SELECT * FROM orders WHERE id = \$1
EOF

# --- one case --------------------------------------------------------------------------
server_pid=
start_server() { # name, command...
  local name=$1; shift
  "$@" >"$run_dir/$name.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

wait_ready() { # url, body
  for _ in $(seq 1 150); do
    if curl -sf -o /dev/null -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
        --data "$2" "$1"; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { log "server exited; see $run_dir"; return 1; }
    sleep 0.2
  done
  log "server at $1 did not answer"; return 1
}

init_body='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"0"}}}'

run_ours() { # case, description, bench flags (quoted string), server flags...
  local case=$1 what=$2 bench_flags=$3; shift 3
  log "case $case: $what"
  start_server "$case" "$server_bin" --listen "127.0.0.1:$PORT_OURS" --pool-size "$POOL_SIZE" "$@"
  wait_ready "http://127.0.0.1:$PORT_OURS/mcp" "$init_body"
  if [ "$case" = a ] && [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    # Load it for warmup + 10 s while perf samples the server, then measure separately.
    "$bench_bin" --url "http://127.0.0.1:$PORT_OURS/mcp" --concurrency "$CONCURRENCY" \
      --warmup 0s --duration 14s --json --label perf >/dev/null &
    local load=$!; pids+=("$load")
    sleep 3
    perf record -F 499 -g -p "$server_pid" -o "$run_dir/perf-a.data" -- sleep 10 >/dev/null 2>&1 || true
    wait "$load" || true
    perf report -i "$run_dir/perf-a.data" --no-children --sort symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9]' | head -40 >"$run_dir/perf-a-self.txt" || true
    perf report -i "$run_dir/perf-a.data" --no-children --sort dso --stdio 2>/dev/null \
      | grep -E '^ +[0-9]' | head -15 >"$run_dir/perf-a-dso.txt" || true
  fi
  # shellcheck disable=SC2086
  "$bench_bin" --url "http://127.0.0.1:$PORT_OURS/mcp" --tool postgres_query \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
    --server-pid "$server_pid" --comm-cpu postgres --json --label "$case" $bench_flags \
    | tee -a "$run_dir/summary.jsonl"
  stop_server
}

run_toolbox() { # case, extra toolbox flags...
  local case=$1; shift
  log "case $case: Toolbox $toolbox_version $*"
  start_server "$case" "$toolbox_bin" --config "$toolbox_dir/tools.yaml" --address 127.0.0.1 \
    --port "$PORT_TOOLBOX" --disable-version-check --disable-reload "$@"
  wait_ready "http://127.0.0.1:$PORT_TOOLBOX/mcp" "$init_body"
  "$bench_bin" --url "http://127.0.0.1:$PORT_TOOLBOX/mcp" --tool get_order --id-param id \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
    --server-pid "$server_pid" --comm-cpu postgres --json --label "$case" \
    | tee -a "$run_dir/summary.jsonl"
  stop_server
}

for c in $CASES; do
  case $c in
    a) run_ours a "stateless, limits lifted, audit off" "" --mode stateless --lift-limits --audit off ;;
    b) run_ours b "stateless, --bare" "" --mode stateless --lift-limits --audit off --bare ;;
    c) run_ours c "stateless, limits lifted, audit to a file" "" --mode stateless --lift-limits --audit "$run_dir/audit.jsonl" ;;
    d) run_ours d "session mode, limits lifted, audit off" "--session" --mode session --lift-limits --audit off ;;
    e) run_toolbox e ;;
    f) run_toolbox f --log-level WARN ;;
    *) log "unknown case $c"; exit 2 ;;
  esac
done

# --- report ----------------------------------------------------------------------------
{
  echo "# postgres_query benchmark, $stamp"
  echo
  echo "\`SELECT * FROM orders WHERE id = \$1\` on \`agents\` (100k rows), ids uniform in 1..=100000;"
  echo "$CONCURRENCY callers on keep-alive connections, ${WARMUP} warm-up, ${DURATION} measured per case;"
  echo "pool size $POOL_SIZE; $(nproc) cores shared by the load generator, the server and Postgres."
  echo "Server: ${REV:-$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- servers 2>/dev/null || echo ' (with uncommitted changes)')}; Toolbox $toolbox_version."
  echo
  echo "| case | server | calls/s | p50 ms | p99 ms | server CPU µs/call | postgres CPU µs/call | client CPU µs/call | machine busy | errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  jq -r '
    def desc: {"a":"ours, stateless, limits lifted, audit off","b":"ours, --bare","c":"ours, audit to file","d":"ours, session mode (SSE)","e":"Toolbox","f":"Toolbox, --log-level WARN"}[.label] // .label;
    def r(n): if . == null then "n/a" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
    "| \(.label) | \(desc) | \(.rate | r(0)) | \(.p50_us / 1000 | r(2)) | \(.p99_us / 1000 | r(2)) | \(.server_cpu_us_per_call | r(1)) | \(.comm_cpu_us_per_call | r(1)) | \(.client_cpu_us_per_call | r(1)) | \(.machine_busy_pct | r(0))% | \(.errors) |"
  ' "$run_dir/summary.jsonl"
  echo
  jq -rs '
    (map({(.label): .}) | add) as $x
    | (if $x.a and $x.e then "- ours (a) / Toolbox (e) rate: \(($x.a.rate / $x.e.rate * 100 | round) / 100)x (goal ≥ 2x)" else empty end),
      (if $x.a and $x.f then "- ours (a) / Toolbox without access log (f) rate: \(($x.a.rate / $x.f.rate * 100 | round) / 100)x" else empty end),
      (if $x.a and $x.b then "- admission + audit + spans cost, rate (b − a) / b: \((($x.b.rate - $x.a.rate) / $x.b.rate * 1000 | round) / 10)% (goal < 5%)" else empty end),
      (if $x.c and $x.b then "- with audit to a file, rate (b − c) / b: \((($x.b.rate - $x.c.rate) / $x.b.rate * 1000 | round) / 10)%" else empty end),
      (if $x.a then "- case a p99 \($x.a.p99_us / 1000) ms (goal < 100 ms), server CPU \(($x.a.server_cpu_us_per_call * 10 | round) / 10) µs/call (goal < 45)" else empty end)
  ' "$run_dir/summary.jsonl"
  if [ -s "$run_dir/perf-a-self.txt" ]; then
    echo
    echo "Top server symbols in case a (perf, self time):"
    echo
    echo '```'
    head -25 "$run_dir/perf-a-self.txt"
    echo '```'
  fi
} | tee "$results"
# The audit trail of case c can be large; keep only its size.
if [ -f "$run_dir/audit.jsonl" ]; then
  log "case c wrote $(wc -l <"$run_dir/audit.jsonl") audit lines"
  rm -f "$run_dir/audit.jsonl"
fi
log "results: $results (logs in $run_dir)"
