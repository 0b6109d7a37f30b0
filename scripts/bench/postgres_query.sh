#!/usr/bin/env bash
# Side-by-side benchmark of the local tier's postgres_query against MCP Toolbox for
# Databases, on the same primary-key SELECT over the 100k-row `orders` table of `agents`.
# The load generator is oha; each request is the one the harness's own client sends
# (`mcp-slo call --print-request`). Cases, one after another, each for the same duration
# (see scripts/bench/README.md):
#   a  ours: stateless, limits lifted, audit off (defaults: one serving thread per two cores)
#   b  ours: as a, plus --bare (no admission stack, audit or tool spans)
#   c  ours: stateless, limits lifted, audit to a file
#   d  ours: session mode (an MCP session per caller, SSE answers), limits lifted, audit off
#   e  Toolbox: postgres-sql tool, same statement, same pool size, default logging
#   f  Toolbox as e with --log-level WARN (no per-request access log)
#   g  ours as a with one serving thread per core (--workers $(nproc))
#   h  ours as a on 4 pipelined connections (--pool-size 4 --pg-pipeline-depth 8)
#   i  Toolbox as e with GOMAXPROCS = a's serving threads (its equivalent of a's threads)
#   j  Toolbox as e with pool_max_conns 4 (its equivalent of h's connections)
#   k  ours as g plus --bare (the stack's cost in that set-up)
#   l  ours as a, every call sent as MCP 2026-07-28 (self-contained: request metadata in
#      `_meta`, Mcp-Method and Mcp-Name headers), whatever PROTOCOL says
# Environment knobs: DURATION (15s), WARMUP (3s), CONCURRENCY (32), POOL_SIZE (16),
# CASES ("a b c d e f g h i j k l"), CLIENT_THREADS (1: oha's --worker-threads; case d runs one
# oha per session, each on one thread), PROTOCOL (2025-11-25: the MCP revision spoken to
# both servers; auto negotiates each), OHA (oha's path; found on PATH, else installed into
# .bench/oha/ with cargo), OHA_VERSION (1.16.0: the version installed), TOOLBOX_VERSION
# (1.12.0), PERF=1 (profile case a's server for 10 s),
# BUILD=0 (use the release binaries already in $CARGO_TARGET_DIR), REPEAT (1: runs of the
# whole case list; the table shows medians), OTHER_MAX (10: a case with more than this %
# of other load on the machine is run again, up to twice), QUIET_WAIT (120 s).
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
CORES=$(nproc)
# The server's default serving threads (`--workers`): one per two cores, at least one.
OUR_THREADS=$(( CORES / 2 > 0 ? CORES / 2 : 1 ))
# oha's threads (--worker-threads), each a current-thread runtime serving its share of the
# connections: one spends the least CPU per call, which leaves the cores to the server and
# Postgres.
CLIENT_THREADS=${CLIENT_THREADS:-1}
PROTOCOL=${PROTOCOL:-2025-11-25}
OHA_VERSION=${OHA_VERSION:-1.16.0}
# Ids are drawn uniformly from 1..=ID_MAX: oha sends a random line of a file holding one
# request per id.
ID_MAX=100000
CASES=${CASES:-a b c d e f g h i j k l}
TOOLBOX_VERSION=${TOOLBOX_VERSION:-1.12.0}
PORT_OURS=${PORT_OURS:-18080}
PORT_TOOLBOX=${PORT_TOOLBOX:-15000}
PERF=${PERF:-0}
REPEAT=${REPEAT:-1}
OTHER_MAX=${OTHER_MAX:-10}

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
  rm -f "$run_dir"/bodies-*.jsonl   # the requests per id: large, and made again each run
}
trap cleanup EXIT

# --- set-up ----------------------------------------------------------------------------
log "services"
bash scripts/setup-services.sh
rev_file=$bench_dir/server-build-rev
if [ "${BUILD:-1}" = 1 ]; then
  log "building release binaries (server + mcp-slo)"
  cargo build --release --locked -q --workspace
  echo "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- servers 2>/dev/null || echo ' (with uncommitted changes)')" >"$rev_file"
fi
server_bin=$CARGO_TARGET_DIR/release/mcp-local-server
slo_bin=$CARGO_TARGET_DIR/release/mcp-slo

OHA=${OHA:-$(command -v oha || echo "$bench_dir/oha/bin/oha")}
if [ ! -x "$OHA" ]; then
  log "installing oha $OHA_VERSION into .bench/oha/ (cargo install)"
  env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$bench_dir/oha" oha --version "$OHA_VERSION"
  OHA=$bench_dir/oha/bin/oha
fi
oha_version=$("$OHA" --version | awk '{print $NF}')

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
sed "s/pool_max_conns: \"$POOL_SIZE\"/pool_max_conns: \"4\"/" "$toolbox_dir/tools.yaml" >"$toolbox_dir/tools-4.yaml"

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

busy_pct() { # machine-wide busy % over one second
  local a b
  read -r -a a < <(head -n1 /proc/stat)
  sleep 1
  read -r -a b < <(head -n1 /proc/stat)
  local total=0 idle=$(( b[4] + b[5] - a[4] - a[5] ))
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

wait_quiet() { # other work on the machine skews every figure: wait for it (QUIET_WAIT s)
  local busy
  for _ in $(seq 1 "${QUIET_WAIT:-120}"); do
    busy=$(busy_pct)
    [ "$busy" -lt 15 ] && return 0
  done
  log "WARNING: the machine is still ${busy}% busy with other work; figures will be low"
}

# --- the load --------------------------------------------------------------------------
# The request comes from the harness's own client (`mcp-slo call --print-request`): its
# headers become oha's -H flags (`oha_headers`), its body, with the id set to each of
# 1..=ID_MAX, a file of one request per line (`bodies`) from which oha draws a line at
# random for every call.
oha_headers=()
bodies=
revision=
prepare_request() { # url, tool, arguments (with id 1), jq path of the id in the request
  local url=$1 tool=$2 args=$3 path=$4 req=$run_dir/request.json
  "$slo_bin" call "$url" --protocol "$PROTOCOL" --tool "$tool" --args "$args" --print-request \
    >"$req" 2>>"$run_dir/call.log"
  revision=$(jq -r .revision "$req")
  mapfile -t oha_headers < <(jq -r '.headers | to_entries[] | "-H", "\(.key): \(.value)"' "$req")
  bodies=$run_dir/bodies-$(jq -r .body "$req" | md5sum | cut -c1-12).jsonl
  if [ ! -s "$bodies" ]; then
    jq -c --argjson n "$ID_MAX" ".body | fromjson | . as \$b | range(1; \$n + 1) | . as \$i | \$b | $path = \$i" \
      "$req" >"$bodies"
    # Line 1 (id 1) must be the request exactly as printed: nothing but the id was changed.
    if [ "$(head -n1 "$bodies")" != "$(jq -r .body "$req")" ]; then
      log "the request with its id set differs from the one printed; see $req"; exit 1
    fi
  fi
}

# One MCP session (initialize + notifications/initialized), for the revision of the
# prepared request; prints its Mcp-Session-Id.
open_session() { # url
  local init sid
  init=$(jq -cn --arg v "$revision" '{jsonrpc: "2.0", id: 0, method: "initialize", params: {protocolVersion: $v, capabilities: {}, clientInfo: {name: "bench", version: "0"}}}')
  sid=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
      -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $revision" \
      --data "$init" "$1" | tr -d '\r' | awk -F': *' 'tolower($1) == "mcp-session-id" { print $2 }')
  [ -n "$sid" ] || { log "no Mcp-Session-Id from initialize at $1"; return 1; }
  curl -sSf -o /dev/null -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $revision" \
    -H "Mcp-Session-Id: $sid" --data '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$sid"
}

# oha on the prepared request, closed loop, no TUI, answers uncompressed (as the harness
# asks for them), latency of the 2xx answers apart (--stats-success-breakdown).
oha_load() { # duration, url, extra oha flags...
  local duration=$1 url=$2; shift 2
  "$OHA" --no-tui --output-format json --stats-success-breakdown --disable-compression \
    -m POST -Z "$bodies" "${oha_headers[@]}" -z "$duration" "$@" "$url"
}

# The whole load of one case: CONCURRENCY connections from one oha on CLIENT_THREADS
# threads, or, with sessions, one oha per session on one connection and one thread (a
# session takes one request at a time: every request of oha's has the same JSON-RPC id).
sessions=()
split_bodies() { # one file per session: every n-th id (n sessions), each id once in all,
  # and each process reads a file n times smaller at its start
  local n=${#sessions[@]} i
  for i in "${!sessions[@]}"; do
    if [ ! -s "${bodies%.jsonl}-$n-$i.jsonl" ]; then
      awk -v n="$n" -v i="$i" '(NR - 1) % n == i' "$bodies" >"${bodies%.jsonl}-$n-$i.jsonl"
    fi
  done
}
run_load() { # duration, url, output prefix
  local duration=$1 url=$2 out=$3 i load=()
  if [ ${#sessions[@]} = 0 ]; then
    oha_load "$duration" "$url" -c "$CONCURRENCY" --worker-threads "$CLIENT_THREADS" >"$out-1.json"
    return
  fi
  local all=$bodies n=${#sessions[@]}
  for i in "${!sessions[@]}"; do
    bodies=${all%.jsonl}-$n-$i.jsonl
    oha_load "$duration" "$url" -c 1 --worker-threads 1 -H "Mcp-Session-Id: ${sessions[i]}" \
      >"$out-$((i + 1)).json" &
    load+=($!)
  done
  bodies=$all
  for i in "${load[@]}"; do wait "$i"; done
}

# CPU so far in clock ticks: the server (s_server), all `postgres` processes (s_pg), the
# whole machine (s_busy of s_total); and this shell's reaped children (s_client): the load
# generator is the only child that ends inside the window.
s_server=0 s_pg=0 s_busy=0 s_total=0 s_client=0
sample_others() {
  local line f cpu
  s_server=0
  if read -r line <"/proc/$server_pid/stat"; then
    read -r -a f <<<"${line##*) }"
    s_server=$(( f[11] + f[12] ))   # utime + stime, all threads
  fi
  s_pg=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { t += $14 + $15 } END { print t + 0 }')
  read -r -a cpu </proc/stat
  s_total=$(( cpu[1] + cpu[2] + cpu[3] + cpu[4] + cpu[5] + cpu[6] + cpu[7] + cpu[8] ))
  s_busy=$(( s_total - cpu[4] - cpu[5] ))   # less idle and iowait
}
sample_client() {
  local line f
  read -r line <"/proc/$$/stat"
  read -r -a f <<<"${line##*) }"
  s_client=$(( f[13] + f[14] ))   # cutime + cstime
}

# Warm-up, then the measured window with CPU sampled around it; the case's summary goes
# to $run_dir/last.json.
measure() { # case, url
  local case=$1 url=$2 b_server b_pg b_busy b_total b_client
  if [ "${WARMUP%s}" != 0 ]; then run_load "$WARMUP" "$url" "$run_dir/warmup"; fi
  rm -f "$run_dir/oha-$case-"*.json
  sample_others; sample_client
  b_server=$s_server b_pg=$s_pg b_busy=$s_busy b_total=$s_total b_client=$s_client
  run_load "$DURATION" "$url" "$run_dir/oha-$case"
  sample_client; sample_others
  jq -cs --arg name "$case" --argjson c "$CONCURRENCY" --argjson hz "$(getconf CLK_TCK)" \
    --argjson server $((s_server - b_server)) --argjson pg $((s_pg - b_pg)) \
    --argjson client $((s_client - b_client)) --argjson busy $((s_busy - b_busy)) \
    --argjson total $((s_total - b_total)) '
    def ok: [.statusCodeDistribution // {} | to_entries[] | select(.key | startswith("2")) | .value] | add // 0;
    def bad: ([.statusCodeDistribution // {} | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0)
      + ([.errorDistribution // {} | to_entries[] | select(.key != "aborted due to deadline") | .value] | add // 0);
    def weighted(f): (map(select(ok > 0) | (f // 0) * ok) | add // 0) / ([.[] | ok] | add | if . == 0 then 1 else . end);
    ([.[] | ok] | add) as $ok
    | (map(.summary.total) | add / length) as $secs
    | ([.[] | ok / .summary.total] | add) as $rate
    | def per_call(ticks): if $ok > 0 then ticks / $hz * 1e6 / $ok else null end;
    {label: $name, concurrency: $c, processes: length, seconds: $secs, ok: $ok,
     errors: ([.[] | bad] | add), calls: ($ok + ([.[] | bad] | add)), rate: $rate,
     p50_us: (if $ok > 0 then weighted(.latencyPercentilesSuccessful.p50) * 1e6 else null end),
     p90_us: (if $ok > 0 then weighted(.latencyPercentilesSuccessful.p90) * 1e6 else null end),
     p99_us: (if $ok > 0 then weighted(.latencyPercentilesSuccessful.p99) * 1e6 else null end),
     bytes_per_answer: weighted(.summary.sizePerRequest),
     server_cpu_us_per_call: per_call($server), client_cpu_us_per_call: per_call($client),
     comm: "postgres", comm_cpu_us_per_call: per_call($pg),
     machine_busy_pct: (if $total > 0 then 100 * $busy / $total else null end),
     other_cpu_pct: (if $total > 0 then 100 * ($busy - $server - $client - $pg) / $total else null end),
     error_samples: ([.[] | .errorDistribution // {} | keys[]] | unique | map(select(. != "aborted due to deadline")) | .[:5])}
  ' "$run_dir/oha-$case-"*.json >"$run_dir/last.json"
}

# One call through the harness's client after the load: oha sees HTTP statuses only, so a
# JSON-RPC or tool error inside a 200 would pass it; this one is checked (`probe` in the
# summary).
probe() { # url, tool, arguments
  local ok=true
  if ! "$slo_bin" call "$1" --protocol "$PROTOCOL" --tool "$2" --args "$3" >"$run_dir/probe.json" 2>>"$run_dir/call.log"; then
    ok=false
    log "  WARNING: the call after the load failed; see $run_dir/call.log"
  fi
  jq -c --argjson ok "$ok" '. + {probe: $ok}' "$run_dir/last.json" >"$run_dir/last.tmp"
  mv "$run_dir/last.tmp" "$run_dir/last.json"
}

# shellcheck disable=SC2016 # $1 is the statement's parameter, not the shell's
ours_args='{"query":"SELECT * FROM orders WHERE id = $1","params":[1]}'
init_body='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"0"}}}'

run_ours() { # case, description, session (1 or 0), pool size, server flags...
  local case=$1 what=$2 session=$3 pool=$4; shift 4
  local url=http://127.0.0.1:$PORT_OURS/mcp
  wait_quiet
  log "case $case: $what"
  start_server "$case" "$server_bin" --listen "127.0.0.1:$PORT_OURS" --pool-size "$pool" "$@"
  wait_ready "$url" "$init_body"
  prepare_request "$url" postgres_query "$ours_args" '.params.arguments.params[0]'
  sessions=()
  if [ "$session" = 1 ]; then
    for _ in $(seq 1 "$CONCURRENCY"); do sessions+=("$(open_session "$url")"); done
    split_bodies
  fi
  if [ "$case" = a ] && [ "$PERF" = 1 ] && [ ! -e "$run_dir/perf-a.data" ] && command -v perf >/dev/null; then
    # Load it for warmup + 10 s while perf samples the server, then measure separately.
    run_load 14s "$url" "$run_dir/perf-load" &
    local perf_load=$!; pids+=("$perf_load")
    sleep 3
    # Flat profile: release builds have no frame pointers, so -g stacks would be broken.
    perf record -F 499 -p "$server_pid" -o "$run_dir/perf-a.data" -- sleep 10 >/dev/null 2>&1 || true
    wait "$perf_load" || true
    for key in sym dso; do
      perf report -i "$run_dir/perf-a.data" --no-children -F "overhead,$key" --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' | sed -E 's/ +$//' | cut -c1-130 | head -30 >"$run_dir/perf-a-$key.txt" || true
    done
  fi
  measure "$case" "$url"
  probe "$url" postgres_query "$ours_args"
  sessions=()
  stop_server
}

run_toolbox() { # case, GOMAXPROCS ('' for Go's default), config file, extra toolbox flags...
  local case=$1 procs=$2 config=$3; shift 3
  local url=http://127.0.0.1:$PORT_TOOLBOX/mcp
  wait_quiet
  log "case $case: Toolbox $toolbox_version ${procs:+GOMAXPROCS=$procs }$(basename "$config") $*"
  start_server "$case" env ${procs:+GOMAXPROCS=$procs} "$toolbox_bin" --config "$config" --address 127.0.0.1 \
    --port "$PORT_TOOLBOX" --disable-version-check --disable-reload "$@"
  wait_ready "$url" "$init_body"
  prepare_request "$url" get_order '{"id":1}' '.params.arguments.id'
  sessions=()
  measure "$case" "$url"
  probe "$url" get_order '{"id":1}'
  stop_server
  # Toolbox's access log is one line per call: keep its head and its length only.
  local lines; lines=$(wc -l <"$run_dir/$case.log")
  if [ "$lines" -gt 100 ]; then
    sed -i "100q" "$run_dir/$case.log"
    echo "... $lines lines in all" >>"$run_dir/$case.log"
  fi
}

run_case() { # case
  case $1 in
    a) run_ours a "stateless, limits lifted, audit off" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit off ;;
    b) run_ours b "stateless, --bare" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit off --bare ;;
    c) rm -f "$run_dir/audit.jsonl"
       run_ours c "stateless, limits lifted, audit to a file" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit "$run_dir/audit.jsonl"
       log "  case c wrote $(wc -l <"$run_dir/audit.jsonl") audit lines"
       rm -f "$run_dir/audit.jsonl" ;;
    d) run_ours d "session mode, limits lifted, audit off" 1 "$POOL_SIZE" --mode session --lift-limits --audit off ;;
    e) run_toolbox e "" "$toolbox_dir/tools.yaml" ;;
    f) run_toolbox f "" "$toolbox_dir/tools.yaml" --log-level WARN ;;
    g) run_ours g "as a, --workers $CORES" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit off --workers "$CORES" ;;
    h) run_ours h "as a, 4 pipelined connections" 0 4 --mode stateless --lift-limits --audit off --pg-pipeline-depth 8 ;;
    i) run_toolbox i "$OUR_THREADS" "$toolbox_dir/tools.yaml" ;;
    j) run_toolbox j "" "$toolbox_dir/tools-4.yaml" ;;
    k) run_ours k "as g, --bare" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit off --workers "$CORES" --bare ;;
    l) PROTOCOL=2026-07-28 run_ours l "as a, every call as MCP 2026-07-28" 0 "$POOL_SIZE" --mode stateless --lift-limits --audit off ;;
    *) log "unknown case $1"; exit 2 ;;
  esac
}

# Cases interleave across repetitions, every other run in reverse order so that a drift
# over the session does not favour the cases listed first; a case disturbed by other load
# is run again.
# shellcheck disable=SC2086 # the case list is split on purpose
reversed=$(printf '%s\n' $CASES | tac | tr '\n' ' ')
for rep in $(seq 1 "$REPEAT"); do
  order=$CASES
  if [ $((rep % 2)) = 0 ]; then order=$reversed; fi
  for c in $order; do
    for try in 1 2 3; do
      run_case "$c"
      other=$(jq '(.other_cpu_pct // 0) | floor' "$run_dir/last.json")
      log "$(jq -r '"  \(.rate | floor) calls/s, p99 \(.p99_us // 0 | floor) µs, \(.errors) errors, \(.bytes_per_answer | floor) bytes/answer, other load \(.other_cpu_pct // 0 | floor)%\(if .probe then "" else ", the call after the load FAILED" end)"' "$run_dir/last.json")"
      if [ "$other" -le "$OTHER_MAX" ] || [ "$try" = 3 ]; then break; fi
      log "  disturbed by other load; running case $c again"
    done
    jq -c --argjson rep "$rep" '. + {rep: $rep}' "$run_dir/last.json" >>"$run_dir/summary.jsonl"
  done
done

# --- report ----------------------------------------------------------------------------
{
  echo "# postgres_query benchmark, $stamp"
  echo
  echo "\`SELECT * FROM orders WHERE id = \$1\` on \`agents\` (100k rows), ids uniform in 1..=100000;"
  echo "$CONCURRENCY callers on keep-alive connections, ${WARMUP} warm-up, ${DURATION} measured per case;"
  echo "pool size $POOL_SIZE; $CORES cores shared by the load generator (oha $oha_version, $CLIENT_THREADS thread(s); case d one process per session), the server ($OUR_THREADS serving thread(s) by default) and Postgres."
  echo "MCP revision: $PROTOCOL$([ "$PROTOCOL" = auto ] && echo ' (each server its own)'); requests as \`mcp-slo call --print-request\` gives them."
  echo "Server built from: ${REV:-$(cat "$rev_file" 2>/dev/null || echo '?')}; Toolbox $toolbox_version."
  echo
  echo "Figures are medians over $REPEAT run(s) of each case; *range* is the lowest and highest rate."
  echo
  echo "| case | server | calls/s | range | p50 ms | p99 ms | server CPU µs/call | postgres CPU µs/call | client CPU µs/call | machine busy | other load | errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  jq -rs --arg cores "$CORES" --arg ours "$OUR_THREADS" '
    def desc: {"a":"ours, stateless, limits lifted, audit off","b":"ours, --bare","c":"ours, audit to file","d":"ours, session mode (SSE)","e":"Toolbox","f":"Toolbox, --log-level WARN","g":"ours as a, --workers \($cores)","h":"ours as a, 4 pipelined connections","i":"Toolbox, GOMAXPROCS=\($ours)","j":"Toolbox, 4 connections","k":"ours as g, --bare","l":"ours as a, MCP 2026-07-28"}[.] // .;
    def r(n): if . == null then "n/a" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
    def median: map(select(. != null)) | sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    group_by(.label)[] as $g | $g[0].label as $l
    | "| \($l) | \($l | desc) | \($g | map(.rate) | median | r(0)) | \($g | map(.rate) | min | r(0))–\($g | map(.rate) | max | r(0)) | \($g | map(.p50_us / 1000) | median | r(2)) | \($g | map(.p99_us / 1000) | median | r(2)) | \($g | map(.server_cpu_us_per_call) | median | r(1)) | \($g | map(.comm_cpu_us_per_call) | median | r(1)) | \($g | map(.client_cpu_us_per_call) | median | r(1)) | \($g | map(.machine_busy_pct) | median | r(0))% | \($g | map(.other_cpu_pct) | max | r(0))% | \($g | map(.errors) | add) |"
  ' "$run_dir/summary.jsonl"
  echo
  echo "*other load*: busy CPU not spent by the server, Postgres or the load generator (other"
  echo "processes, kernel threads), the highest over the runs; above ~10% a run was disturbed."
  echo "*errors*: answers other than HTTP 2xx and failed exchanges (oha reads no JSON-RPC); each"
  echo "case ends with one call checked through \`mcp-slo call\`$(jq -rs 'map(select(.probe | not) | .label) | unique | if length > 0 then ", which FAILED after case(s) \(join(", "))" else ", which succeeded after every case" end' "$run_dir/summary.jsonl")."
  echo
  jq -rs --arg cores "$CORES" --arg ours "$OUR_THREADS" '
    def median: map(select(. != null)) | sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    (group_by(.label) | map({(.[0].label): {rate: (map(.rate) | median), p99_us: (map(.p99_us) | median), server_cpu_us_per_call: (map(.server_cpu_us_per_call) | median), pg: (map(.comm_cpu_us_per_call) | median)}}) | add) as $x
    | (if $x.a and $x.e then "- ours (a) / Toolbox (e) rate: \(($x.a.rate / $x.e.rate * 100 | round) / 100)x (goal ≥ 2x)" else empty end),
      (if $x.a and $x.f then "- ours (a) / Toolbox without access log (f) rate: \(($x.a.rate / $x.f.rate * 100 | round) / 100)x" else empty end),
      (if $x.a and $x.e then "- server + Postgres CPU per call, ours (a) vs Toolbox (e): \(($x.a.server_cpu_us_per_call + $x.a.pg) | round) vs \(($x.e.server_cpu_us_per_call + $x.e.pg) | round) µs" else empty end),
      (if $x.a and $x.i then "- ours (a) / Toolbox (i), \($ours) thread(s) each: \(($x.a.rate / $x.i.rate * 100 | round) / 100)x" else empty end),
      (if $x.g and $x.e then "- ours (g) / Toolbox (e), one thread per core each: \(($x.g.rate / $x.e.rate * 100 | round) / 100)x" else empty end),
      (if $x.h and $x.j then "- ours (h) / Toolbox (j), 4 connections each: \(($x.h.rate / $x.j.rate * 100 | round) / 100)x" else empty end),
      (if $x.h and $x.e then "- ours (h) / Toolbox (e): \(($x.h.rate / $x.e.rate * 100 | round) / 100)x" else empty end),
      (if $x.a and $x.b then "- admission stack and span checks (audit off in both), rate (b − a) / b: \((($x.b.rate - $x.a.rate) / $x.b.rate * 1000 | round) / 10)% (goal < 5%; over several runs, the paired figures below are steadier); server CPU +\(($x.a.server_cpu_us_per_call - $x.b.server_cpu_us_per_call) * 10 | round / 10) µs/call" else empty end),
      (if $x.g and $x.k then "- the same with --workers \($cores), rate (k − g) / k: \((($x.k.rate - $x.g.rate) / $x.k.rate * 1000 | round) / 10)%; server CPU +\(($x.g.server_cpu_us_per_call - $x.k.server_cpu_us_per_call) * 10 | round / 10) µs/call" else empty end),
      (if $x.c and $x.b then "- admission stack, span checks and audit to a file, rate (b − c) / b: \((($x.b.rate - $x.c.rate) / $x.b.rate * 1000 | round) / 10)% (goal < 5%; over several runs, the paired figures below are steadier); server CPU +\(($x.c.server_cpu_us_per_call - $x.b.server_cpu_us_per_call) * 10 | round / 10) µs/call" else empty end),
      (if $x.a and $x.l then "- MCP 2026-07-28 (l) / legacy form (a) rate: \(($x.l.rate / $x.a.rate * 100 | round) / 100)x (goal ≥ 0.9); server CPU \(($x.l.server_cpu_us_per_call * 10 | round) / 10) vs \(($x.a.server_cpu_us_per_call * 10 | round) / 10) µs/call" else empty end),
      (if $x.l and $x.e then "- MCP 2026-07-28 (l) / Toolbox (e) rate: \(($x.l.rate / $x.e.rate * 100 | round) / 100)x (goal ≥ 2.5x)" else empty end),
      (if $x.a then "- case a p99 \($x.a.p99_us / 10 | round / 100) ms (goal < 100 ms), server CPU \(($x.a.server_cpu_us_per_call * 10 | round) / 10) µs/call (goal < 45)" else empty end),
      (["g", "h"][] as $c | if $x[$c] then "- case \($c) p99 \($x[$c].p99_us / 10 | round / 100) ms, server CPU \(($x[$c].server_cpu_us_per_call * 10 | round) / 10) µs/call (goal < 45)" else empty end)
  ' "$run_dir/summary.jsonl"
  # Paired per run: cases of one run follow each other within a minute, so their difference
  # is steadier than the difference of medians taken over all runs.
  jq -rs '
    def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def total: .server_cpu_us_per_call + .comm_cpu_us_per_call + .client_cpu_us_per_call;
    def r1: . * 10 | round / 10;
    [group_by(.rep)[] | map({(.label): .}) | add] as $runs
    | (["a", "c"][] as $with
      | [$runs[] | select(.b and .[$with]) | {rate: ((.b.rate - .[$with].rate) / .b.rate * 100), cpu: (.[$with].server_cpu_us_per_call - .b.server_cpu_us_per_call), share: (((.[$with] | total) - (.b | total)) / (.b | total) * 100), server_share: ((.[$with].server_cpu_us_per_call - .b.server_cpu_us_per_call) / (.b | total) * 100)}] as $d
      | if ($d | length) > 1 then "- paired per run, b against \($with) (\($d | length) runs), medians: rate \($d | map(.rate) | median | r1)% (goal < 5%), server CPU +\($d | map(.cpu) | median | r1) µs/call, CPU of the whole machine per call +\($d | map(.share) | median | r1)%, the server'"'"'s added CPU as a share of the whole machine'"'"'s per call +\($d | map(.server_share) | median | r1)% (goal < 5%) (rate, each run: \($d | map(.rate | r1 | tostring + "%") | join(", ")); server share, each run: \($d | map(.server_share | r1 | tostring + "%") | join(", ")))" else empty end)
  ' "$run_dir/summary.jsonl"
  echo
  echo "Every run, in order: case rate/s (p99 ms, other load %):"
  echo
  jq -rs 'group_by(.rep)[] | "- run \(.[0].rep): " + (map("\(.label) \(.rate | floor) (\((.p99_us // 0) / 100 | round / 10), \(.other_cpu_pct // 0 | floor)%)") | join(", "))' "$run_dir/summary.jsonl"
  if [ -s "$run_dir/perf-a-sym.txt" ]; then
    echo
    echo "Case a's server under perf (10 s, self time; kernel symbols are [k]):"
    echo
    echo '```'
    head -6 "$run_dir/perf-a-dso.txt"
    echo
    head -20 "$run_dir/perf-a-sym.txt"
    echo '```'
  fi
} | tee "$results"
log "results: $results (logs in $run_dir)"
