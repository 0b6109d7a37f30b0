#!/usr/bin/env bash
# The main job: builds the local tier and the harness in release mode and runs
# scenarios/quickstart.yaml, a real SLO run whose verdict is the exit code (0 pass, 1
# objective missed, 2 invalid input, 3 infrastructure) and whose report lands in
# reports/quickstart-<timestamp>/.
#
# Backends: where PostgreSQL, MariaDB and Redis are installed, they are started if down and
# given their roles and fixtures (scripts/setup-services.sh), and the run uses them. Where
# they are not, the harness resolves each backend itself (environment, loopback services,
# containers when a Docker engine answers, else the embedded SQLite / in-process cache /
# fixture sandbox) and the report says which served the run.
#
# Usage: scripts/quickstart.sh [SCENARIO] [mcp-slo run flags, e.g. --backends embedded]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"
cd "$MCP_SLO_ROOT"
scenario=scenarios/quickstart.yaml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then scenario=$1; shift; fi
case " $* " in
  *" --backends embedded "* | *" --backends=embedded "*) set_up=no ;;
  *) set_up=yes ;;
esac
if [ "$set_up" = yes ] && ! bash "$here/setup-services.sh"; then
  echo "[quickstart] the local services could not be set up; the harness resolves the backends itself (see the report's backends line)" >&2
  unset DATABASE_URL MYSQL_URL REDIS_URL MCP_SLO_DATA_ROOT
fi
# Release builds: a debug server spends tens of times a release build's CPU per call and a
# debug harness adds its own time to every latency (every report names both builds).
cargo build --release --locked -p mcp-local-server -p mcp-slo
export MCP_SLO_LOCAL_SERVER="$CARGO_TARGET_DIR/release/mcp-local-server"
exec "$CARGO_TARGET_DIR/release/mcp-slo" run "$scenario" "$@"
