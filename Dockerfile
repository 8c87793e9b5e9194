# syntax=docker/dockerfile:1
# The worker image: a Rust build stage whose dependency layer is cached apart from the
# sources, and a slim Debian runtime with only what the binary needs. The build steps live in
# .ci/docker-build so they can be checked on a plain Debian userland without a Docker engine
# (.ci/verify-image does that; see README "Deploy to Fly.io").

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY .ci/docker-build /usr/local/bin/docker-build
RUN docker-build builder-deps
# Only the manifest and the lockfile: this layer (every dependency compiled) is reused until
# they change, so a source edit recompiles one crate, not four hundred.
COPY Cargo.toml Cargo.lock ./
RUN docker-build deps
# The migrations are embedded in the binary by sqlx::migrate!, so they belong to this stage.
COPY src ./src
COPY migrations ./migrations
RUN docker-build app /out/vibeinsight

# ONNX Runtime and the neural diarization models (checksummed; see .ci/docker-build models).
# Without them the worker still runs, on the classical diarization path, and says so.
FROM debian:${DEBIAN_RELEASE}-slim AS models
COPY .ci/docker-build /usr/local/bin/docker-build
RUN docker-build models /opt/vibeinsight/models

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
COPY .ci/docker-build /usr/local/bin/docker-build
RUN docker-build runtime && rm /usr/local/bin/docker-build
COPY .ci/healthcheck /usr/local/bin/vibeinsight-healthcheck
COPY --from=build /out/vibeinsight /usr/local/bin/vibeinsight
COPY --from=models /opt/vibeinsight/models /opt/vibeinsight/models

# Production defaults; everything secret (DATABASE_URL, provider keys, Tigris credentials)
# comes from the platform's secrets at run time, never from the image.
ENV VIBEINSIGHT__TELEMETRY__LOG_FORMAT=json \
    VIBEINSIGHT__TELEMETRY__METRICS_ADDR=0.0.0.0:9091 \
    VIBEINSIGHT__STORAGE__BACKEND=s3 \
    VIBEINSIGHT_DIARIZATION_MODELS=/opt/vibeinsight/models \
    RUST_LOG=info

USER vibeinsight:vibeinsight
WORKDIR /tmp

# No EXPOSE: the worker takes no ingress. Port 9091 (/metrics, /health) is for the platform's
# scraper and health checks on the private network only.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/vibeinsight-healthcheck"]

# The binary is PID 1 (exec form, no shell in between), so SIGTERM reaches it directly and it
# hands in-flight jobs back before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/vibeinsight"]
CMD ["run"]
