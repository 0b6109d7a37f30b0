#!/usr/bin/env bash
# Installs the authorization server harness/cli/tests/oauth/authlib.rs runs against, none of
# it written here: Authlib (PyPI `authlib`) on Flask, pinned, in a venv at
# ${MCP_SLO_OAUTH:-$HOME/.cache/mcp-slo/oauth}/venv, which serves token_server.py beside
# this script. Does nothing when both are already there.
set -euo pipefail
authlib=1.9.10
flask=3.1.3
dir=${MCP_SLO_OAUTH:-$HOME/.cache/mcp-slo/oauth}
venv=$dir/venv
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("authlib"), m.version("flask"))' 2>/dev/null || true)
if [ "$installed" != "$authlib $flask" ]; then
  command -v python3 >/dev/null || { echo "[oauth] python3 is needed for Authlib" >&2; exit 1; }
  echo "[oauth] installing authlib==$authlib flask==$flask into $venv" >&2
  mkdir -p "$dir"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "authlib==$authlib" "flask==$flask" >&2
fi
