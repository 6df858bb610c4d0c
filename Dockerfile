# syntax=docker/dockerfile:1
# The Tributary image: the operator and the runtime slot are the same bytes (our TypeScript
# sources run by Node 24's type stripping, no build step, plus the production node_modules)
# behind two entrypoints, as two targets of this one file:
#
#   docker build --target operator -t <registry>/tributary/operator:<version> .
#   docker build --target runtime  -t <registry>/tributary/runtime:<version> .   # the default target
#
# Why two targets rather than one image with a dispatcher: every Kubernetes object uses the
# image's own entrypoint (the operator's slot pods and the chart's Deployment set no
# `command`, and a StreamJob's `spec.image` only has to be "a runtime image"), while the
# layers are identical, so a registry stores them once and a node pulls them once.
#
# Contracts the chart and the operator rely on:
#   * numeric non-root user 65532:65532 (Pod Security `restricted`, `runAsNonRoot` checkable
#     by the kubelet without /etc/passwd);
#   * a read-only root filesystem works: nothing is written under /app or /home; the slot's
#     state goes to its state storage, temporary files to /tmp (a volume in every pod we
#     create); the slot's compile cache is warmed at build time (stage compile-cache);
#   * PID 1 is node itself (exec form, no shell in between), and both entrypoints handle
#     SIGTERM/SIGINT: the slot takes its final checkpoint/savepoint within the grace period,
#     the operator drains reconciles and releases its Lease. Neither spawns child processes,
#     so there are no orphans for an init to reap.
#
# BASE_IMAGE must provide Node 24 as `node` on PATH and npm (for the deps stage). The default
# is the official Node 24 slim image; `npm run image` passes a base it assembles itself
# (Debian + the Node binary of the `node` npm package) when no registry can be reached.
ARG BASE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency builds native code; the `node` devDependency
# (the only one with an install script) is omitted anyway. The optional build secret
# `npm-ca` is a CA bundle for a registry behind a TLS-intercepting proxy
# (`--secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt`); it never lands in a layer.
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
    && rm -rf node_modules/.package-lock.json

FROM ${BASE_IMAGE} AS app
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/tributary-dev/tributary
LABEL org.opencontainers.image.title="tributary" \
      org.opencontainers.image.description="Tributary: a Kubernetes operator and stream-processing runtime that feeds Apache Druid" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY operator/src ./operator/src
COPY runtime/src ./runtime/src
USER 65532:65532

FROM app AS operator
LABEL org.opencontainers.image.title="tributary-operator"
ENTRYPOINT ["node", "/app/operator/src/main.ts"]

# Node's compile cache for the slot's modules, filled at build time as the image's user and
# paths (Node keys entries by version, path, content and uid). Copied in root-owned, so a slot
# reads it but never writes it (with a writable root a container's writes stay in its own
# layer anyway). A slot run as another uid finds no entry for its uid and starts cold.
FROM app AS compile-cache
USER 0
RUN install -d -o 65532 -g 65532 /compile-cache
USER 65532:65532
# Node writes entries 0600; the copy below makes them root's, so they must be readable by all.
RUN NODE_COMPILE_CACHE=/compile-cache node /app/runtime/src/warm-compile-cache.ts \
    && chmod -R a+rX,go-w /compile-cache

FROM app AS runtime
LABEL org.opencontainers.image.title="tributary-runtime"
COPY --from=compile-cache --chown=0:0 /compile-cache /app/.node-compile-cache
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
# Node flags: runtime/src/process/slot-node-flags.ts (slot-node-flags.test.ts checks this line).
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/runtime/src/main.ts"]
