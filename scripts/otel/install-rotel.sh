#!/usr/bin/env bash
# The OTLP receiver the telemetry tests export spans to: rotel, a Rust OpenTelemetry
# collector from PyPI (the wheel carries the binary), whose debug log prints every span it
# receives with its trace and parent ids, status and attributes
# (servers/local/tests/it/telemetry.rs). Installs into its own venv and links the binary
# as $MCP_SLO_ROTEL/rotel-agent (default ~/.cache/mcp-slo/rotel/rotel-agent).
set -euo pipefail
# 0.0.1a15 is the release measured here; rotel is alpha and its debug log's format is what
# the test reads, so bump deliberately.
version=0.0.1a15
dir=${MCP_SLO_ROTEL:-$HOME/.cache/mcp-slo/rotel}
source "$(dirname "$0")/../venv.sh"
pinned_venv rotel "$dir/venv" "rotel==$version"
agent=$("$dir/venv/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')
[ -x "$agent" ] || { echo "[rotel] $agent is missing from the wheel" >&2; exit 1; }
ln -sf "$agent" "$dir/rotel-agent"
