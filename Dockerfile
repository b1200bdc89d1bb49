# syntax=docker/dockerfile:1
# Multi-stage build (docs/operations.md): dependencies compiled once in their own layer,
# the server, the SPA bundle when web/ has one, then a small non-root runtime.
#
# PostgreSQL: the runtime's client (pg_dump, pg_restore, psql for backups) must be of the
# same major version as the server in docker-compose.yml (postgres:16-alpine, spec §9), or
# pg_dump refuses to dump it. Debian bookworm ships only 15, so the client comes from
# PostgreSQL's own Debian repository (PGDG), set up by the script Debian's
# postgresql-common ships with the repository's signing key. Change PG_MAJOR here and the
# `postgres:` image in docker-compose.yml together (crates/server/tests/deploy_files.rs
# fails when they differ).

ARG RUST_IMAGE=rust:1-bookworm

FROM ${RUST_IMAGE} AS chef
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev=15.* \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install --locked cargo-chef@0.1.78
WORKDIR /src

# The dependency recipe changes only when a manifest or the lock file does.
FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# Dependencies in a layer of their own: a source change reuses it.
FROM chef AS build
COPY --from=plan /src/recipe.json recipe.json
# .cargo/config.toml carries the allocator's build-time settings (jemalloc's decay).
COPY .cargo .cargo
RUN cargo chef cook --release --locked -p pos-server --recipe-path recipe.json
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY crates crates
COPY tests tests
COPY migrations migrations
COPY openapi openapi
COPY seed seed
RUN cargo build --release --locked -p pos-server && cp target/release/pos /usr/local/bin/pos

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY openapi/ /src/openapi/
COPY web/ ./
# Until web/ has a package.json there is nothing to build: an empty bundle.
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

FROM debian:bookworm-slim AS runtime
ARG PG_MAJOR=16
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The PostgreSQL client is pinned to the major; the rest takes bookworm's current
# security release at each build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-common ca-certificates curl \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends libpq5 "postgresql-client-${PG_MAJOR}=${PG_MAJOR}.*" \
    && rm -rf /var/lib/apt/lists/* \
    && pg_dump --version | grep -q " ${PG_MAJOR}\." \
    && groupadd --system --gid 10001 pos \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /app pos
WORKDIR /app
COPY --from=build /usr/local/bin/pos /usr/local/bin/pos
COPY --from=build /src/seed /app/seed
COPY --from=web /src/web/dist /app/web/dist
RUN mkdir -p /app/uploads /app/backups && chown -R 10001:10001 /app
USER 10001:10001
ENV BIND=0.0.0.0 PORT=3000 WEB_DIR=/app/web/dist UPLOAD_DIR=/app/uploads BACKUP_DIR=/app/backups LOG_FORMAT=json
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:3000/api/health"]
# `pos serve` migrates first (under a PostgreSQL advisory lock, so replicas starting
# together take turns) and then serves. A command, not an ENTRYPOINT, so that one-off
# runs read naturally: `docker compose run --rm pos-app pos seed`.
CMD ["pos", "serve"]
