#!/usr/bin/env bash
# The test command: sets up the services it needs (Postgres, MariaDB, Redis, fixtures, the
# moto AWS emulator), then
# runs formatting, lints and the whole test suite with MCP_SLO_REQUIRE_SERVICES=1, so a
# test that needs a missing service fails instead of skipping.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"
cd "$MCP_SLO_ROOT"
bash "$here/setup-services.sh"
# The AWS emulator (moto in a venv, IAM enforcement on); exports AWS_ENDPOINT_URL and keys.
eval "$(bash "$here/setup-moto.sh")"
export MCP_SLO_REQUIRE_SERVICES=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
