# syntax=docker/dockerfile:1
#
# Images of the two MCP tiers and of the harness, from one build:
#
#   docker build --target server  -t mcp-slo-server:local  .   # mcp-local-server + mcp-aws-server
#   docker build --target harness -t mcp-slo-harness:local .   # mcp-slo + scenarios/ + config/
#
# docker-compose.yml builds both (see docker/README-compose.md). The builder compiles the
# three binaries once, in release mode from the committed Cargo.lock; the runtime images are
# Debian slim with ca-certificates only, run as a fixed non-root user, and carry the
# committed config/ (the servers' defaults are config/*.yaml relative to /app).
#
# The cache mounts keep cargo's registry and target directory between builds (BuildKit,
# the default builder of `docker compose` and `docker build`). A clean release build of the
# workspace takes about 15 minutes on 2 cores.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
# The runtime user: fixed so that bind mounts and the compose file can name it.
ARG APP_UID=10001

# --- builder ---------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
# rust:*-slim has gcc and libc6-dev (cc for aws-lc-sys, ring, mimalloc and the bundled
# SQLite); cmake is aws-lc-sys's fallback builder.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p mcp-local-server -p mcp-aws-server -p mcp-slo \
 && mkdir -p /out \
 && cp target/release/mcp-local-server target/release/mcp-aws-server target/release/mcp-slo /out/

# --- common runtime --------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ARG APP_UID
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${APP_UID}" mcp \
 && useradd --system --uid "${APP_UID}" --gid mcp --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin mcp
# The health check of the compose services (the image has no curl): GET a path on the
# loopback over bash's /dev/tcp, healthy only on a 200.
COPY --chmod=0755 docker/bin/http-ready /usr/local/bin/http-ready
WORKDIR /app
COPY config/ /app/config/

# --- harness: `mcp-slo` ----------------------------------------------------------------
FROM runtime AS harness
ARG APP_UID
COPY scenarios/ /app/scenarios/
# Scenarios may compare with a committed baseline (../reports/baselines/...).
COPY reports/baselines/ /app/reports/baselines/
COPY --from=builder /out/mcp-slo /usr/local/bin/mcp-slo
# Reports go to /reports (docker-compose.yml mounts ./reports there).
RUN mkdir -p /reports && chown "${APP_UID}:${APP_UID}" /reports
USER ${APP_UID}:${APP_UID}
ENTRYPOINT ["mcp-slo"]
CMD ["--help"]

# --- servers: `mcp-local-server`, `mcp-aws-server` (the default target) ---------------
FROM runtime AS server
ARG APP_UID
# The file_read sandbox: the config's allowed_paths /data/reports and /data/config are
# resolved beneath MCP_SLO_DATA_ROOT, so they are these two directories. Owned by root and
# read-only to the server's user.
ENV MCP_SLO_DATA_ROOT=/srv/mcp-slo
COPY scripts/fixtures/reports/ /srv/mcp-slo/data/reports/
COPY scripts/fixtures/config/ /srv/mcp-slo/data/config/
COPY --from=builder /out/mcp-local-server /out/mcp-aws-server /usr/local/bin/
USER ${APP_UID}:${APP_UID}
EXPOSE 8080 8081
CMD ["mcp-local-server"]
