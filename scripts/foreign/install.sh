#!/usr/bin/env bash
# Installs what scenarios/foreign-python-sdk.yaml runs against, none of it written here:
# - the official MCP Python SDK (PyPI `mcp`, pinned) in a venv at
#   ${MCP_SLO_FOREIGN:-$HOME/.cache/mcp-slo/foreign}/venv, which serves sdk_server.py;
# - nginx from Debian (`nginx-light`), the rate limiter in front of it.
# Does nothing when both are already there. The package's own service is never started:
# our nginx runs from scripts/foreign/nginx.conf on 127.0.0.1 only (start.sh).
set -euo pipefail
version=2.3.0
dir=${MCP_SLO_FOREIGN:-$HOME/.cache/mcp-slo/foreign}
venv=$dir/venv
# shellcheck source=../venv.sh
source "$(dirname "$0")/../venv.sh"
pinned_venv foreign "$venv" "mcp==$version"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "[foreign] installing nginx-light from Debian" >&2
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  # Keep the package from starting its own server on port 80 (Docker images ship this
  # policy already; a machine without one gets it for the install only).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >&2
  }
  apt_install || { "${sudo[@]}" apt-get update -q >&2 && apt_install; }
fi
