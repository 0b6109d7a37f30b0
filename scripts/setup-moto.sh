#!/usr/bin/env bash
# AWS emulator for the AWS tier's tests: installs moto in a venv, starts it on 127.0.0.1
# through scripts/moto/server.py (moto_server plus a Lambda function `sleeper` that answers
# after the payload's `sleep_ms`), provisions the seed's IAM user/roles, S3 bucket, Lambda
# functions and RDS Data setup (scripts/moto/provision.py), switches IAM enforcement on and
# verifies it. Idempotent: a running, provisioned server is only verified, never reset
# (except a plain moto_server started by an earlier version of this script, which lacks
# the sleeper and is replaced).
#
#   eval "$(bash scripts/setup-moto.sh [PORT])"   # default port 5005
#   bash scripts/setup-moto.sh --stop [PORT]      # stops the server this script started
#
# stdout carries only `export ...` lines (endpoint, the base user's keys, region, port);
# logs go to stderr. On failure stdout stays empty and the exit status is non-zero.
#
# Environment: MCP_SLO_VENV (default ~/.cache/mcp-slo/venv), MCP_SLO_STATE (pid, log and
# key files; default ~/.cache/mcp-slo), PYTHON (interpreter for the venv; default python3),
# MCP_SLO_MOTO_VERIFY=0 skips the checks after provisioning.
set -euo pipefail

# moto 5.2.5 is the release measured on this machine (shared/REFERENCE.md "moto server"):
# IAM enforcement via /moto-api/reset-auth, Lambda without Docker, the RDS Data result
# queue and the error shapes provision.py checks were all taken from it. Newer releases
# have changed such internals before, so bump deliberately and re-run this script (its
# checks fail loudly). boto3/botocore come in as moto's own dependencies.
MOTO_PIN='moto[server]==5.2.5'
MOTO_VERSION=5.2.5

here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[setup-moto] %s\n' "$*" >&2; }

stop=0
if [ "${1:-}" = --stop ]; then stop=1; shift; fi
PORT=${1:-5005}
case $PORT in ''|*[!0-9]*) log "port must be a number, got '$PORT'"; exit 64 ;; esac

VENV=${MCP_SLO_VENV:-$HOME/.cache/mcp-slo/venv}
STATE=${MCP_SLO_STATE:-$HOME/.cache/mcp-slo}
PIDFILE=$STATE/moto-$PORT.pid
LOGFILE=$STATE/moto-$PORT.log
KEYFILE=$STATE/moto-$PORT.creds.json
ENDPOINT=http://127.0.0.1:$PORT
mkdir -p "$STATE"

# Serialise concurrent runs for the same port (parallel test binaries, two shells).
if command -v flock >/dev/null; then
  exec 9>"$STATE/moto-$PORT.lock"
  flock -w 300 9 || { log "timed out waiting for $STATE/moto-$PORT.lock"; exit 75; }
fi

pid_cmd() { # prints "PID CMDLINE" for the pid in the pid file, if that process runs
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  local cmd; cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  echo "$pid $cmd"
}
our_pid() { # prints the pid if that process is a moto this script started on $PORT
  local line; line=$(pid_cmd) || return 1
  # scripts/moto/server.py now; moto_server from earlier versions of this script.
  [[ $line =~ (moto/server\.py|moto_server).*\ -p\ $PORT\  ]] || return 1
  echo "${line%% *}"
}
plain_pid() { # prints the pid if it is a plain moto_server (no sleeper) this script started
  local line; line=$(pid_cmd) || return 1
  [[ $line =~ moto_server.*\ -p\ $PORT\  ]] || return 1
  echo "${line%% *}"
}
stop_pid() {
  local pid=$1
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM; sending SIGKILL"; kill -9 "$pid"; fi
}

is_moto() { # (no `curl | grep -q`: with pipefail, grep quitting early fails curl with SIGPIPE)
  local page; page=$(curl -fsS --max-time 2 "$ENDPOINT/moto-api/" 2>/dev/null) || return 1
  [[ $page == *[Mm]oto* ]]
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }  # anything listening

# --- stop ------------------------------------------------------------------------------
if [ $stop = 1 ]; then
  if pid=$(our_pid); then
    log "stopping moto (pid $pid, port $PORT)"
    stop_pid "$pid"
  else
    log "no moto started by this script on port $PORT (pid file $PIDFILE)"
  fi
  rm -f "$PIDFILE"
  # moto keeps its state in memory: the saved base-user key dies with the server.
  is_moto || rm -f "$KEYFILE"
  exit 0
fi

# --- venv ------------------------------------------------------------------------------
venv_ok() {
  [ -x "$VENV/bin/moto_server" ] &&
    [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "$MOTO_VERSION" ]
}
if ! venv_ok; then
  if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    if [ -f "$VENV/pyvenv.cfg" ]; then
      log "removing broken venv $VENV"; rm -rf "$VENV"
    else
      log "$VENV exists and is not a venv; set MCP_SLO_VENV elsewhere"; exit 1
    fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV" >&2
  fi
  log "installing $MOTO_PIN into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_PIN" >&2
  venv_ok || { log "moto $MOTO_VERSION did not install into $VENV"; exit 1; }
fi

# --- server ----------------------------------------------------------------------------
if pid=$(plain_pid) && is_moto; then
  log "replacing moto_server (pid $pid) started by an earlier version of this script: it has no sleeper"
  stop_pid "$pid"
  rm -f "$PIDFILE" "$KEYFILE"
fi
# What a running server was started and provisioned from: its wrapper, the provisioner and
# the world file. A server of ours started from other versions (an older clone's) is
# replaced, so the world it holds is the one these tests expect.
STAMPFILE=$STATE/moto-$PORT.stamp
stamp=$(cat "$here/moto/server.py" "$here/moto/provision.py" "$here/../docker/localstack/seed/world.json" \
          "$here/../docker/localstack/seed/world.py" | sha256sum | cut -d' ' -f1)
if pid=$(our_pid) && is_moto && [ "$(cat "$STAMPFILE" 2>/dev/null)" != "$stamp" ]; then
  log "replacing moto (pid $pid): it was started from other versions of server.py, provision.py or world.json"
  stop_pid "$pid"
  rm -f "$PIDFILE" "$KEYFILE"
fi
if is_moto; then
  log "moto already answers on $ENDPOINT"
elif port_busy; then
  log "something that is not moto answers on $ENDPOINT; choose another port"; exit 1
else
  log "starting moto (scripts/moto/server.py) on $ENDPOINT (log $LOGFILE)"
  # setsid, no inherited stdout and no lock fd: the server outlives this script, `$(...)`
  # returns, and the next run can take the lock. The pid file names the interpreter
  # running server.py (setsid execs it: no fork in a non-interactive shell).
  setsid "$VENV/bin/python" "$here/moto/server.py" -H 127.0.0.1 -p "$PORT" </dev/null >>"$LOGFILE" 2>&1 9>&- &
  echo $! >"$PIDFILE"
  echo "$stamp" >"$STAMPFILE"
  rm -f "$KEYFILE"  # a new server knows no keys
  up=0
  for _ in $(seq 1 100); do
    if is_moto; then up=1; break; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.1
  done
  if [ $up != 1 ]; then
    log "moto did not answer within 10 s; last log lines:"; tail -n 20 "$LOGFILE" >&2 || true
    exit 1
  fi
fi

# --- provision + verify ------------------------------------------------------------------
verify_flag=()
[ "${MCP_SLO_MOTO_VERIFY:-1}" = 0 ] && verify_flag=(--no-verify)
creds=$("$VENV/bin/python" "$here/moto/provision.py" --endpoint "$ENDPOINT" \
          --state-file "$KEYFILE" "${verify_flag[@]}") || {
  log "provisioning or verification failed (see above)"; exit 1; }

printf 'export AWS_ENDPOINT_URL=%s\n' "$ENDPOINT"
printf '%s\n' "$creds"
printf 'export AWS_REGION=ap-northeast-1\n'
printf 'export MCP_SLO_MOTO_PORT=%s\n' "$PORT"
