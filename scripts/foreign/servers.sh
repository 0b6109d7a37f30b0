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

say() { echo "[foreign] $*" >&2; }
# shellcheck source=../lib/processes.sh
source "$here/../lib/processes.sh"

start() {
  [ -x "$python" ] || { say "no venv at $dir/venv: run scripts/foreign/install.sh"; exit 1; }
  for port in $sdk_port $nginx_port; do
    if listening "$port"; then say "127.0.0.1:$port is already in use (servers.sh stop?)"; exit 1; fi
  done
  mkdir -p "$run"
  # Stop whatever got started if a later step fails.
  trap 'stop_pid "$run/nginx.pid"; stop_pid "$run/sdk.pid" "$here/sdk_server.py"' ERR

  "$python" "$here/sdk_server.py" "$sdk_port" session >"$run/sdk.log" 2>&1 &
  echo $! >"$run/sdk.pid"
  wait_listening "$sdk_port" "$(cat "$run/sdk.pid")" "$run/sdk.log"

  start_nginx "$here/nginx.conf" "$nginx_port" -e "s|@UPSTREAM@|$sdk_port|g" \
    -e "s|@RATE@|$rate|g" -e "s|@BURST@|$burst|g"

  # Ready when an MCP call through nginx gets the SDK's answer.
  discovered "http://127.0.0.1:$nginx_port/mcp" "server/discover through nginx"
  trap - ERR
  say "SDK server pid $(cat "$run/sdk.pid") on 127.0.0.1:$sdk_port, nginx pid $(cat "$run/nginx.pid") at http://127.0.0.1:$nginx_port/mcp ($rate calls/s, burst $burst); logs in $run"
}

case "${1:-}" in
start) start ;;
stop)
  stop_pid "$run/nginx.pid"
  stop_pid "$run/nginx.pid.start"
  stop_pid "$run/sdk.pid" "$here/sdk_server.py"
  ;;
*) sed -n 2,8p "$0" >&2; exit 2 ;;
esac
