//! The docker compose reproduction (`docker-compose.yml`, `Dockerfile`, `docker/`) checked
//! against `config/` as the servers load it (`TierFiles`, `ServerConfig`): published ports
//! and listen addresses, the local tier's loopback-only publish and its isolation from the
//! AWS tier, the flags the servers run with, the backends and emulator resources the tools
//! need, the CloudWatch alarms, health checks and start order, and pinned image tags; and
//! the AWS test world (`docker/localstack/seed/world.json`) as both emulators' provisioners
//! build it, on moto (world/). Compose's own validation is `scripts/check-compose.sh`;
//! nothing here needs an engine.

mod images;
mod network;
mod resources;
mod support;
mod world;
