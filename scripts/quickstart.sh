#!/usr/bin/env bash
# The main job: sets up the services (Postgres, MariaDB, Redis, fixtures), builds the local
# tier and the harness, and runs scenarios/quickstart.yaml: a real SLO run whose verdict is
# the exit code (0 pass, 1 objective missed, 2 invalid input, 3 infrastructure) and whose
# report lands in reports/quickstart-<timestamp>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"
cd "$MCP_SLO_ROOT"
bash "$here/setup-services.sh"
# One build profile for tests and runs (dependencies optimised; see Cargo.toml).
cargo build --locked -p mcp-local-server -p mcp-slo
export MCP_SLO_LOCAL_SERVER="$CARGO_TARGET_DIR/debug/mcp-local-server"
# Usage: scripts/quickstart.sh [SCENARIO] [mcp-slo run flags...]
scenario=scenarios/quickstart.yaml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then scenario=$1; shift; fi
exec "$CARGO_TARGET_DIR/debug/mcp-slo" run "$scenario" "$@"
