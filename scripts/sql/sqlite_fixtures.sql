-- Fixtures for one embedded (SQLite) database of the local tier: the tables and rows of
-- postgres_fixtures.sql, in SQLite's types. Idempotent. `:rows` is replaced by the number
-- of orders rows (100000 for agents, 1000 for production) before it runs.
-- SQLite has no roles: the embedded tier cannot express postgres_fixtures.sql's grants, so
-- `internal_secrets` is left out rather than left readable.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS orders (
    id          INTEGER PRIMARY KEY,
    customer    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    amount      NUMERIC NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS scratch (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT OR IGNORE INTO orders (id, customer, status, amount, created_at)
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :rows)
SELECT n,
       'customer-' || (n % 997),
       CASE n % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'cancelled' END,
       round(((n * 7919) % 100000) / 100.0, 2),
       strftime('%Y-%m-%dT%H:%M:%SZ', '2026-01-01', '+' || n || ' minutes')
FROM g;
ANALYZE;
