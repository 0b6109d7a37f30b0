#!/usr/bin/env bash
# Starts and stops what scenarios/replicas-local.yaml loads, on 127.0.0.1: three replicas
# of the local tier (stateless) keeping one rate limit in Redis, behind nginx.
#   servers.sh start [RUN_DIR]   replicas on :18481-18483 with --rate-limit-redis, nginx
#                                round robin over them on :18480; returns once an MCP call
#                                through nginx is answered
#   servers.sh stop [RUN_DIR]    stops them all (by the pids start wrote)
# RUN_DIR (default ~/.cache/mcp-slo/replicas/run) gets the pid files, logs and nginx.conf.
# The binary is $MCP_SLO_LOCAL_SERVER, else the debug build in $CARGO_TARGET_DIR
# (scripts/env.sh); Redis is $MCP_SLO_REPLICAS_REDIS (default redis://127.0.0.1:6379), Postgres,
# MariaDB and Redis as scripts/setup-services.sh starts them; nginx from
# scripts/foreign/install.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The backends' URLs and data root, as the test suite's services have them.
# shellcheck source=../env.sh
source "$root/scripts/env.sh"
run=${2:-$HOME/.cache/mcp-slo/replicas/run}
nginx_port=18480
replica_ports=(18481 18482 18483)
redis=${MCP_SLO_REPLICAS_REDIS:-redis://127.0.0.1:6379}
server=${MCP_SLO_LOCAL_SERVER:-$CARGO_TARGET_DIR/debug/mcp-local-server}

say() { echo "[replicas] $*" >&2; }
# shellcheck source=../lib/processes.sh
source "$here/../lib/processes.sh"

stop_all() {
  stop_pid "$run/nginx.pid"
  stop_pid "$run/nginx.pid.start"
  # A replica's command line names its port (--listen), not the run directory.
  for port in "${replica_ports[@]}"; do stop_pid "$run/replica-$port.pid" "127.0.0.1:$port"; done
}

start() {
  [ -x "$server" ] || { say "no local tier at $server (cargo build -p mcp-local-server, or set MCP_SLO_LOCAL_SERVER)"; exit 1; }
  for port in "$nginx_port" "${replica_ports[@]}"; do
    if listening "$port"; then say "127.0.0.1:$port is already in use (servers.sh stop?)"; exit 1; fi
  done
  mkdir -p "$run"
  trap stop_all ERR
  # One key prefix per start: a run never inherits an earlier one's spent bucket.
  key="mcp-slo:replicas:$$:$(date +%s)"
  for port in "${replica_ports[@]}"; do
    "$server" --listen "127.0.0.1:$port" --mode stateless --audit off \
      --config "$root/config/local_mcp_server_config.yaml" \
      --boundaries "$root/config/deployment_boundaries.yaml" \
      --network "$root/config/network_isolation.yaml" \
      --rate-limit-redis "$redis" --rate-limit-key "$key" \
      >"$run/replica-$port.log" 2>&1 &
    echo $! >"$run/replica-$port.pid"
  done
  for port in "${replica_ports[@]}"; do
    wait_listening "$port" "$(cat "$run/replica-$port.pid")" "$run/replica-$port.log"
  done
  start_nginx "$here/nginx.conf" "$nginx_port" -e "s|@A@|${replica_ports[0]}|g" \
    -e "s|@B@|${replica_ports[1]}|g" -e "s|@C@|${replica_ports[2]}|g"
  for port in "${replica_ports[@]}"; do
    discovered "http://127.0.0.1:$port/mcp" "server/discover at replica :$port"
  done
  discovered "http://127.0.0.1:$nginx_port/mcp" "server/discover through nginx"
  trap - ERR
  say "replicas on 127.0.0.1:${replica_ports[*]} sharing their rate limit in $redis (keys $key*), nginx pid $(cat "$run/nginx.pid") at http://127.0.0.1:$nginx_port/mcp; logs in $run"
}

case "${1:-}" in
start) start ;;
stop) stop_all ;;
*) sed -n 2,12p "$0" >&2; exit 2 ;;
esac
