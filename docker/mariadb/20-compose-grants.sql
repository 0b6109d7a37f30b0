-- MariaDB initialisation for the compose reproduction, run by the image's entrypoint after
-- 10-mysql_fixtures.sql (scripts/sql/mysql_fixtures.sql, mounted read-only). The fixtures
-- create mcp_agent for 127.0.0.1 and localhost only, which fits a host install; inside
-- compose the local tier connects from its own container, so the same account is created
-- for any host, with exactly the same grants. MariaDB is reachable only on the internal
-- network the local tier shares with its backends (never published).
CREATE USER IF NOT EXISTS 'mcp_agent'@'%' IDENTIFIED BY 'mcp_agent_dev';
GRANT SELECT, INSERT, UPDATE, DELETE ON agents.orders TO 'mcp_agent'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON agents.scratch TO 'mcp_agent'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON production.orders TO 'mcp_agent'@'%';
FLUSH PRIVILEGES;
