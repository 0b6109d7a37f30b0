# Shell functions for scripts that start servers in the background and stop them again
# (scripts/foreign/servers.sh, scripts/replicas/servers.sh). Source it after setting
# `say` (a logging function) and `run` (the run directory a stopped process must name).

# Whether something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops the process in pid file $1 if it is still one we started (its command line names
# the run directory or $2), waiting up to 5 s before SIGKILL.
stop_pid() {
  local file=$1 mark=${2:-$run} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -e "$run" -e "$mark"; then
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

# Starts nginx from template $1 (placeholders replaced by the sed expressions that follow)
# in the run directory, and waits for it on port $2.
start_nginx() {
  local template=$1 port=$2
  shift 2
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx" ] || { say "no nginx: run scripts/foreign/install.sh"; return 1; }
  mkdir -p "$run/nginx-tmp"
  rm -f "$run/nginx-access.log" "$run/nginx-error.log"
  sed -e "s|@RUN@|$run|g" -e "s|@LISTEN@|$port|g" "$@" "$template" >"$run/nginx.conf"
  # -e: the error log before the config is read (the default path may not be writable).
  "$nginx" -p "$run" -c "$run/nginx.conf" -e "$run/nginx-error.log" >"$run/nginx.out" 2>&1 &
  echo $! >"$run/nginx.pid.start"
  wait_listening "$port" "$(cat "$run/nginx.pid.start")" "$run/nginx-error.log"
  rm -f "$run/nginx.pid.start" # nginx wrote its own pid file (the same pid: daemon off)
}

# Whether the MCP server at URL $1 answers server/discover (2026-07-28) with a result;
# fails saying $2 and what came back otherwise.
discovered() {
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.error, urllib.request
url, what = sys.argv[1], sys.argv[2]
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}
request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
    "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"})
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
except urllib.error.HTTPError as e:
    sys.exit(f"{what}: HTTP {e.code}: {e.read().decode()[:300]}")
if "result" not in json.loads(text):
    sys.exit(f"{what}: {text[:300]}")
PY
}
