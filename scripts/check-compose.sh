#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `docker-compose config -q` parses
# the file, checks it against the Compose schema and interpolates it, with and without the
# harness profile. Debian bookworm's `docker-compose` (1.29) is installed when no
# docker-compose is found (without recommends: those pull in the docker.io engine); when a Compose v2 plugin is present (`docker compose`), the file
# is checked with it too. Any error, or any warning Compose prints, fails the script.
#
#   bash scripts/check-compose.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[check-compose] %s\n' "$*" >&2; }

if ! command -v docker-compose >/dev/null; then
  log "installing Debian's docker-compose (validation only; no engine is needed)"
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >&2; }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >&2 ||
      { sudo apt-get update -q >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >&2; }
  fi
fi

# Unset variables the file interpolates (all have defaults) so the check does not depend
# on this shell; a missing default then shows up as a warning, which fails.
unset MCP_AWS_CALLER_TOKENS MCP_SLO_UID MCP_SLO_GID

failed=0
check() { # LABEL COMMAND...
  local label=$1 err
  shift
  err=$(mktemp)
  if "$@" 2>"$err"; then
    if grep -qiE 'warn|error|invalid|unsupported' "$err"; then
      log "FAIL $label: Compose printed:"; sed 's/^/    /' "$err" >&2
      failed=1
    else
      log "ok   $label"
    fi
  else
    log "FAIL $label:"; sed 's/^/    /' "$err" >&2
    failed=1
  fi
  rm -f "$err"
}
services() { # COMPOSE... : the service names, sorted, one line
  "$@" config --services 2>/dev/null | sort | tr '\n' ' '
}
expect_services() { # LABEL EXPECTED COMPOSE...
  local label=$1 expected=$2 got
  shift 2
  got=$(services "$@")
  if [ "$got" = "$expected" ]; then
    log "ok   $label: $got"
  else
    log "FAIL $label: services are '$got', expected '$expected'"
    failed=1
  fi
}

# (`docker-compose config --services` 1.29 lists profiled services too; v2 does not.)
ALWAYS="aws-server jaeger local-server localstack mariadb moto moto-seed postgres redis "
WITH_HARNESS="aws-server harness jaeger local-server localstack mariadb moto moto-seed postgres redis "

log "$(docker-compose version --short 2>/dev/null || docker-compose version | head -n1)"
v1=(docker-compose -f docker-compose.yml)
check "docker-compose config" "${v1[@]}" config -q
check "docker-compose --profile harness config" "${v1[@]}" --profile harness config -q
expect_services "services with --profile harness" "$WITH_HARNESS" "${v1[@]}" --profile harness

if docker compose version >/dev/null 2>&1; then
  v2=(docker compose -f docker-compose.yml)
  log "$(docker compose version)"
  check "docker compose config" "${v2[@]}" config -q
  check "docker compose --profile harness config" "${v2[@]}" --profile harness config -q
  expect_services "v2 services without a profile" "$ALWAYS" "${v2[@]}"
  expect_services "v2 services with --profile harness" "$WITH_HARNESS" "${v2[@]}" --profile harness
else
  log "no Compose v2 plugin (docker compose) here: checked with docker-compose only"
fi

if [ "$failed" != 0 ]; then
  log "docker-compose.yml is NOT valid"
  exit 1
fi
log "docker-compose.yml is valid"
