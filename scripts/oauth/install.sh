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
# shellcheck source=../venv.sh
source "$(dirname "$0")/../venv.sh"
pinned_venv oauth "$venv" "authlib==$authlib" "flask==$flask"
