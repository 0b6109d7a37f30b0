#!/bin/bash
# Postgres initialisation for the compose reproduction (mounted into
# /docker-entrypoint-initdb.d; the image runs it once, on an empty data directory, as the
# superuser over the entrypoint's temporary unix-socket server). It does what
# scripts/setup-services.sh does on a host: the least-privilege role mcp_agent, the
# databases the local tier's postgres_query allows, each loaded with
# scripts/sql/postgres_fixtures.sql (mounted read-only at /mcp-slo/sql).
set -euo pipefail

SQL_DIR=${MCP_SLO_SQL_DIR:-/mcp-slo/sql}
# database:rows, as scripts/setup-services.sh (servers/core/tests/compose/ checks the names
# against postgres_query's allowed_databases).
DATABASES="agents:100000 production:1000"

psql_su() {
  psql -v ON_ERROR_STOP=1 -q --username "${POSTGRES_USER:-postgres}" --no-password "$@"
}

# No superuser, no database or role creation, no inherited grants: the tables' grants in
# postgres_fixtures.sql are all it gets.
psql_su -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mcp_agent') THEN
    CREATE ROLE mcp_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD 'mcp_agent_dev';
  END IF;
END $$;
SQL

for entry in $DATABASES; do
  db=${entry%%:*}
  rows=${entry##*:}
  echo "[mcp-slo] creating database $db ($rows orders)"
  psql_su -d postgres -c "CREATE DATABASE $db"
  psql_su -d postgres -c "REVOKE ALL ON DATABASE $db FROM PUBLIC; GRANT CONNECT ON DATABASE $db TO mcp_agent;"
  psql_su -d "$db" -v rows="$rows" -f "$SQL_DIR/postgres_fixtures.sql"
done
echo "[mcp-slo] postgres ready: role mcp_agent, databases ${DATABASES}"
