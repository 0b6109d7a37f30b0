#!/usr/bin/env bash
# The harness measured against the truth and against an independent load generator:
# release builds, the pinned oha (installed once by scripts/oha.sh), the local tier spawned
# stateless with limits lifted, then `mcp-slo calibrate` with the arguments given (default:
# the rates and rounds of the README's table). Needs PostgreSQL (scripts/setup-services.sh)
# and a machine with nothing else running: the figures are latencies of a few hundred µs.
# Exit 0 when every percentile agrees within the goal, 1 when one does not.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup-services.sh >&2
cargo build --release --locked --workspace >&2
oha=$(bash scripts/oha.sh)
export MCP_SLO_LOCAL_SERVER=$CARGO_TARGET_DIR/release/mcp-local-server
if [[ $# -eq 0 ]]; then
  set -- --rates 100,500,1000,2000 --duration 6s --rounds 3
fi
exec "$CARGO_TARGET_DIR/release/mcp-slo" calibrate --oha "$oha" "$@"
