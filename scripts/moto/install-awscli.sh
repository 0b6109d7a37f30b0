#!/usr/bin/env bash
# Installs the AWS CLI v1 (PyPI `awscli`, pinned) in a venv of its own at
# ${MCP_SLO_AWSCLI:-$HOME/.cache/mcp-slo/awscli}/venv, for servers/core/tests/compose/world/:
# it runs the LocalStack READY hook (docker/localstack/ready.d/10-mcp-slo.sh) against moto
# with an `awslocal` that is this `aws` pointed at moto. Its own venv because awscli pins an
# exact botocore, which moto's venv (scripts/setup-moto.sh) must not have changed under it.
# Does nothing when the pinned version is already there.
#
#   bash scripts/moto/install-awscli.sh
set -euo pipefail
version=1.46.3
dir=${MCP_SLO_AWSCLI:-$HOME/.cache/mcp-slo/awscli}
# shellcheck source=../venv.sh
source "$(dirname "$0")/../venv.sh"
pinned_venv awscli "$dir/venv" "awscli==$version"
