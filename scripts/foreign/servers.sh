#!/usr/bin/env bash
# Starts and stops the foreign server of scenarios/foreign-python-sdk.yaml, on 127.0.0.1:
#   servers.sh start [RUN_DIR]   the SDK server (sdk_server.py on the official MCP Python
#                                SDK) on :18765, nginx limiting it to 50 calls/s on :18766;
#                                returns once an MCP call through nginx is answered
#   servers.sh stop [RUN_DIR]    stops both (by the pids start wrote)
# RUN_DIR (default $MCP_SLO_FOREIGN/run) gets the pid files, the logs and nginx's config.
# Needs scripts/foreign/install.sh first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${MCP_SLO_FOREIGN:-$HOME/.cache/mcp-slo/foreign}
run=${2:-$dir/run}
sdk_port=18765
nginx_port=18766
rate=50
burst=50
python=$dir/venv/bin/python
nginx=$(command -v nginx || echo /usr/sbin/nginx)

say() { echo "[foreign] $*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops the process in pid file $1 if it is still the one we started (its command line
# names the run directory or our script), waiting up to 5 s before SIGKILL.
stop_pid() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -e "$run" -e "$here/sdk_server.py"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "pid $pid did not stop on SIGTERM: killing it"; kill -9 "$pid" 2>/dev/null || true; }
  fi
  rm -f "$file"
}

# Waits until $1 answers on TCP, failing early when pid $2 has exited (log $3).
wait_listening() {
  for _ in $(seq 150); do
    listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || { say "exited before listening on :$1; its log ($3):"; tail -20 "$3" >&2; return 1; }
    sleep 0.1
  done
  say "nothing listens on :$1 after 15 s; log: $3"
  return 1
}

start() {
  [ -x "$python" ] || { say "no venv at $dir/venv: run scripts/foreign/install.sh"; exit 1; }
  [ -x "$nginx" ] || { say "no nginx: run scripts/foreign/install.sh"; exit 1; }
  for port in $sdk_port $nginx_port; do
    if listening "$port"; then say "127.0.0.1:$port is already in use (servers.sh stop?)"; exit 1; fi
  done
  mkdir -p "$run/nginx-tmp"
  rm -f "$run/nginx-access.log" "$run/nginx-error.log"
  # Stop whatever got started if a later step fails.
  trap 'stop_pid "$run/nginx.pid"; stop_pid "$run/sdk.pid"' ERR

  "$python" "$here/sdk_server.py" "$sdk_port" session >"$run/sdk.log" 2>&1 &
  echo $! >"$run/sdk.pid"
  wait_listening "$sdk_port" "$(cat "$run/sdk.pid")" "$run/sdk.log"

  sed -e "s|@RUN@|$run|g" -e "s|@LISTEN@|$nginx_port|g" -e "s|@UPSTREAM@|$sdk_port|g" \
    -e "s|@RATE@|$rate|g" -e "s|@BURST@|$burst|g" "$here/nginx.conf" >"$run/nginx.conf"
  # -e: the error log before the config is read (the default path may not be writable).
  "$nginx" -p "$run" -c "$run/nginx.conf" -e "$run/nginx-error.log" >"$run/nginx.out" 2>&1 &
  echo $! >"$run/nginx.pid.start"
  wait_listening "$nginx_port" "$(cat "$run/nginx.pid.start")" "$run/nginx-error.log"
  rm -f "$run/nginx.pid.start" # nginx wrote its own pid file (the same pid: daemon off)

  # Ready when an MCP call through nginx gets the SDK's answer.
  "$python" - "http://127.0.0.1:$nginx_port/mcp" <<'PY'
import json, sys, urllib.error, urllib.request
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}
request = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(), headers={
    "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"})
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
except urllib.error.HTTPError as e:
    sys.exit(f"server/discover through nginx: HTTP {e.code}: {e.read().decode()[:300]}")
if "result" not in json.loads(text):
    sys.exit(f"server/discover through nginx: {text[:300]}")
PY
  trap - ERR
  say "SDK server pid $(cat "$run/sdk.pid") on 127.0.0.1:$sdk_port, nginx pid $(cat "$run/nginx.pid") at http://127.0.0.1:$nginx_port/mcp ($rate calls/s, burst $burst); logs in $run"
}

case "${1:-}" in
start) start ;;
stop)
  stop_pid "$run/nginx.pid"
  stop_pid "$run/nginx.pid.start"
  stop_pid "$run/sdk.pid"
  ;;
*) sed -n 2,8p "$0" >&2; exit 2 ;;
esac
