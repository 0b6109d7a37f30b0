SET client_min_messages = warning;
-- Fixtures for one of the local tier's Postgres databases (run as a superuser, inside the
-- database). Idempotent: safe to run on every set-up.
CREATE TABLE IF NOT EXISTS orders (
    id          bigint PRIMARY KEY,
    customer    text        NOT NULL,
    status      text        NOT NULL,
    amount      numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Rows the tests may write to; the fixture rows above are never modified by tests.
CREATE TABLE IF NOT EXISTS scratch (
    id      bigserial PRIMARY KEY,
    note    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A table the server's role must never be able to read.
CREATE TABLE IF NOT EXISTS internal_secrets (
    id    int PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO internal_secrets VALUES (1, 'do-not-leak') ON CONFLICT DO NOTHING;

INSERT INTO orders (id, customer, status, amount, created_at)
SELECT g,
       'customer-' || (g % 997),
       (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
       round(((g * 7919) % 100000) / 100.0, 2),
       timestamptz '2026-01-01' + (g || ' minutes')::interval
FROM generate_series(1, :rows) AS g
ON CONFLICT (id) DO NOTHING;
ANALYZE orders;

-- Least privilege: the server's role may use these two tables and nothing else.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO mcp_agent;
GRANT SELECT, INSERT, UPDATE, DELETE ON orders, scratch TO mcp_agent;
GRANT USAGE, SELECT ON SEQUENCE scratch_id_seq TO mcp_agent;
REVOKE ALL ON internal_secrets FROM mcp_agent;
