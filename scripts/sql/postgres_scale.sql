SET client_min_messages = warning;
-- The tool-discovery scale fixture (run as a superuser, inside the agents database): schema
-- `catalog` with 1,000 small tables, each with a primary key, readable by the server's
-- role. A `postgres_tables` family over it (config/local_discovery_scale_config.yaml)
-- takes the local tier past 1,000 tools. Idempotent and quick once created.
CREATE SCHEMA IF NOT EXISTS catalog;
DO $$
BEGIN
  IF (SELECT count(*) FROM pg_tables WHERE schemaname = 'catalog') >= 1000 THEN
    RETURN;
  END IF;
  FOR i IN 1..1000 LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS catalog.item_%s (id integer PRIMARY KEY, name text NOT NULL)', lpad(i::text, 4, '0'));
    EXECUTE format('INSERT INTO catalog.item_%s VALUES (1, %L) ON CONFLICT DO NOTHING', lpad(i::text, 4, '0'), 'item ' || i);
  END LOOP;
END $$;
GRANT USAGE ON SCHEMA catalog TO mcp_agent;
GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO mcp_agent;
