# Environment of a native (non-container) run: sourced by the other scripts.
# Secrets never live in config/: the servers read their backends from here.
MCP_SLO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MCP_SLO_ROOT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/mcp-slo/target}
export DATABASE_URL=${DATABASE_URL:-postgres://mcp_agent@127.0.0.1:5432/agents}
export MYSQL_URL=${MYSQL_URL:-mysql://mcp_agent:mcp_agent_dev@127.0.0.1:3306/agents}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
# The file_read sandbox: the config's allowed_paths (/data/reports, /data/config) are
# resolved beneath this directory.
export MCP_SLO_DATA_ROOT=${MCP_SLO_DATA_ROOT:-$MCP_SLO_ROOT/.data}
