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
# The AWS CLI (from PyPI, its own venv): servers/core/tests/compose/world/ runs the
# LocalStack READY hook against moto with it.
bash "$here/moto/install-awscli.sh"
# Headless Chromium opens the HTML report in a test (Debian's package; needs root or an
# installed browser).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  echo "[test] installing chromium for the HTML report test" >&2
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
  fi
fi
# The MCP conformance suite, whose client scenarios `mcp-slo call --conformance` must pass
# (from npm, with the Node 22 it needs, into ~/.cache/mcp-slo/conformance; once).
bash "$here/conformance/install.sh"
# A server nobody here wrote (the official MCP Python SDK, from PyPI) and nginx from Debian
# as its rate limiter, for harness/cli/tests/foreign.rs.
bash "$here/foreign/install.sh"
# An OAuth authorization server nobody here wrote (Authlib on Flask, from PyPI), for
# harness/cli/tests/oauth/authlib.rs.
bash "$here/oauth/install.sh"
# An OTLP receiver nobody here wrote (rotel, from PyPI), for the servers' telemetry tests.
bash "$here/otel/install-rotel.sh"
# docker-compose.yml, checked by a real Compose implementation (no engine needed).
bash "$here/check-compose.sh"
# The sharded-run examples (examples/kubernetes/, examples/compose-shards/): the Kubernetes
# manifests against the Kubernetes schemas (kubernetes-validate from PyPI), strictly.
bash "$here/check-kubernetes.sh"
export MCP_SLO_REQUIRE_SERVICES=1
# Screenshots and other files a CI run keeps.
export MCP_SLO_ARTIFACTS=${MCP_SLO_ARTIFACTS:-$MCP_SLO_ROOT/reports/artifacts}
mkdir -p "$MCP_SLO_ARTIFACTS"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
# Each fuzz target for 20 s from its seeds (fuzz/): a crash fails the run.
bash "$here/fuzz.sh" 20
# The container path needs a Docker engine: run where one answers, said where none does.
if docker info >/dev/null 2>&1; then
  cargo test --locked -p mcp-slo-backends --test containers -- --ignored
else
  echo "[test] container backends: NOT RUN (no Docker engine answers here); run 'cargo test -p mcp-slo-backends --test containers -- --ignored' where one does" >&2
fi
