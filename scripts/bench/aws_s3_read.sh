#!/usr/bin/env bash
# s3_read through the AWS tier vs GetObject straight through the SDK, on the same moto.
# moto answers every request with Connection: close and tops out at a few hundred
# requests/s on 2 cores, so this measures how much of the emulator's rate the tier keeps.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../env.sh
source "$here/env.sh"
cd "$MCP_SLO_ROOT"
eval "$(bash scripts/setup-moto.sh)"
cargo build --release --locked -p mcp-aws-server -p mcp-slo
cargo build --release --locked -p mcp-aws-server --example s3_direct --example assume_role_latency
bin="$CARGO_TARGET_DIR/release"
echo "== direct SDK GetObject, 32 tasks, 10 s"
"$bin/examples/s3_direct" 32 10
echo "== s3_read through mcp-aws-server (release), 32 workers"
MCP_SLO_AWS_SERVER="$bin/mcp-aws-server" MCP_SLO_AWS_TOKEN=dev-agent-console-token \
  "$bin/mcp-slo" run scenarios/aws-ceiling.yaml --no-progress-bar --out ".bench/aws-ceiling-$(date +%s)" | sed -n '1,8p'
echo "== AssumeRole latency (the credential cache's call), 200 in a row"
"$bin/examples/assume_role_latency" 200
