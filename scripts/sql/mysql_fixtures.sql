-- Fixtures for the local tier's MySQL/MariaDB databases (run as root). Idempotent.
CREATE DATABASE IF NOT EXISTS agents;
CREATE DATABASE IF NOT EXISTS production;
CREATE USER IF NOT EXISTS 'mcp_agent'@'127.0.0.1' IDENTIFIED BY 'mcp_agent_dev';
CREATE USER IF NOT EXISTS 'mcp_agent'@'localhost' IDENTIFIED BY 'mcp_agent_dev';

CREATE TABLE IF NOT EXISTS agents.orders (
    id BIGINT PRIMARY KEY, customer VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL,
    amount DECIMAL(12,2) NOT NULL, created_at DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS agents.scratch (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(255) NOT NULL);
CREATE TABLE IF NOT EXISTS agents.internal_secrets (id INT PRIMARY KEY, value VARCHAR(64));
INSERT IGNORE INTO agents.internal_secrets VALUES (1, 'do-not-leak');
INSERT IGNORE INTO agents.orders (id, customer, status, amount, created_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000)
SELECT n, CONCAT('customer-', n % 997), ELT(1 + n % 4, 'new', 'paid', 'shipped', 'cancelled'),
       ROUND(((n * 7919) % 100000) / 100.0, 2), TIMESTAMP('2026-01-01') + INTERVAL n MINUTE
FROM seq;
CREATE TABLE IF NOT EXISTS production.orders LIKE agents.orders;
INSERT IGNORE INTO production.orders SELECT * FROM agents.orders WHERE id <= 100;

GRANT SELECT, INSERT, UPDATE, DELETE ON agents.orders TO 'mcp_agent'@'127.0.0.1', 'mcp_agent'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON agents.scratch TO 'mcp_agent'@'127.0.0.1', 'mcp_agent'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON production.orders TO 'mcp_agent'@'127.0.0.1', 'mcp_agent'@'localhost';
FLUSH PRIVILEGES;
