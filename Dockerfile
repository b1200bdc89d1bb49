# syntax=docker/dockerfile:1
# Multi-stage build: the server (and the SPA bundle when web/ has one), then a small
# non-root runtime with postgresql-client for `pos backup` / `pos restore`.

FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY crates crates
COPY tests tests
COPY migrations migrations
COPY openapi openapi
COPY seed seed
RUN cargo build --release --locked -p pos-server && cp target/release/pos /usr/local/bin/pos

FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/ ./
# The SPA is optional at this stage of the project: build it when it has a package.json.
RUN if [ -f package.json ]; then npm ci && npm run build; else mkdir -p dist; fi

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 postgresql-client ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app --uid 10001 pos
WORKDIR /app
COPY --from=build /usr/local/bin/pos /usr/local/bin/pos
COPY --from=build /src/seed /app/seed
COPY --from=web /web/dist /app/web/dist
RUN mkdir -p /app/uploads /app/backups && chown -R pos:pos /app
USER pos
ENV BIND=0.0.0.0 PORT=3000 WEB_DIR=/app/web/dist UPLOAD_DIR=/app/uploads BACKUP_DIR=/app/backups LOG_FORMAT=json
# glibc: fixed mmap threshold + 2 arenas give argon2's 19 MiB blocks back (16 logins at once: 360 → 74 MiB peak, docs/benchmarks.md)
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/api/health || exit 1
ENTRYPOINT ["pos"]
CMD ["serve"]
