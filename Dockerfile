# syntax=docker/dockerfile:1
# The clustergpt image: `docker run --rm -v "$PWD:/work" -w /work ghcr.io/<owner>/clustergpt analyze .`
# Published by .github/workflows/release.yml; needs BuildKit (the cache mounts below).

# --- build ------------------------------------------------------------------
# Same Debian release as the runtime stage, so the binary links against the same glibc.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
# Only what `cargo build` reads: the manifest, the lock file, the sources and the declared bench
# (Cargo.toml's [[bench]] must exist for the manifest to load). Templates are embedded from src/,
# the PDF report's fonts from assets/fonts.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY assets ./assets
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin clustergpt \
    && cp target/release/clustergpt /usr/local/bin/clustergpt

# --- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="clustergpt" \
      org.opencontainers.image.description="Audits Kubernetes manifests and clusters: reliability, security, cost and architecture findings with fixes" \
      org.opencontainers.image.licenses="Apache-2.0"
# git: `clustergpt pr` reads the base revision and `--open-fix-pr` commits; ca-certificates: HTTPS
# to the GitHub API (rustls with the system's roots).
# safe.directory: in GitHub Actions the workspace is mounted at /github/workspace and owned by the
# runner's user, not by the container's, so git would refuse it as "dubious ownership".
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /github/workspace \
    && useradd --system --uid 10001 --user-group --create-home --shell /usr/sbin/nologin clustergpt
COPY --from=builder /usr/local/bin/clustergpt /usr/local/bin/clustergpt

# The image deliberately keeps root as its default user. GitHub Actions runs Docker actions and
# `uses: docker://` steps as the image's default user, documents that they must run as root, and
# gives a step no way to pick another user; the mounted workspace (owned by the runner's uid) is
# writable for root only, and clustergpt writes SARIF, reports and fixes there.
# Outside Actions, run it unprivileged, e.g. as the `clustergpt` user created above
# (`docker run --user clustergpt ...`) or as yourself (`--user "$(id -u):$(id -g)"`, which also
# keeps the ownership of files that `clustergpt fix --write` changes in a bind mount).
WORKDIR /work
ENTRYPOINT ["clustergpt"]
CMD ["--help"]
