#!/usr/bin/env bash
# Starts PostgreSQL, Redis and MariaDB if they are down, and creates the databases, the
# least-privilege role and the fixtures the local tier and its tests use. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"

log() { printf '[setup] %s\n' "$*" >&2; }

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "$name did not come up"; return 1
}

# --- PostgreSQL ---------------------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
  else
    log "PostgreSQL is not running and pg_ctlcluster is not installed"; exit 3
  fi
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
psql_su() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_su -d postgres -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mcp_agent') THEN
    CREATE ROLE mcp_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD 'mcp_agent_dev';
  END IF; END \$\$;"
for db in agents production; do
  if [ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    log "creating database $db"
    psql_su -d postgres -c "CREATE DATABASE $db"
  fi
  psql_su -d postgres -c "REVOKE ALL ON DATABASE $db FROM PUBLIC; GRANT CONNECT ON DATABASE $db TO mcp_agent;"
  rows=100000; [ "$db" = production ] && rows=1000
  psql_su -d "$db" -v rows=$rows -f "$here/sql/postgres_fixtures.sql"
done
psql_su -d agents -f "$here/sql/postgres_scale.sql"

# --- Redis ----------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
fi
wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping

# --- MariaDB / MySQL -----------------------------------------------------------------------
if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi
wait_for MariaDB mysqladmin -h 127.0.0.1 -uroot ping
mysql -h 127.0.0.1 -uroot < "$here/sql/mysql_fixtures.sql"

# --- file_read sandbox -----------------------------------------------------------------
mkdir -p "$MCP_SLO_DATA_ROOT/data/reports" "$MCP_SLO_DATA_ROOT/data/config"
cp -f "$here/fixtures/reports/"* "$MCP_SLO_DATA_ROOT/data/reports/"
cp -f "$here/fixtures/config/"* "$MCP_SLO_DATA_ROOT/data/config/"
log "services ready (Postgres, Redis, MariaDB; data root $MCP_SLO_DATA_ROOT)"
