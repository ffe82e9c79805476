# v8assets container image: `docker build -t v8assets .`, then
# `docker run -p 8080:8080 v8assets` serves the demo project at
# http://127.0.0.1:8080/demo/assets/demo0photo0jpeg1 (README, "Run it in a
# container"). Works unchanged with podman and buildah.
#
# Build arguments:
#   BUILDER     image the binary is built in (Debian bookworm with Go 1.26)
#   BASE        runtime image (Debian bookworm; only apt-get and libc needed)
#   UID, GID    the user the server runs as; 33 is Debian's www-data, which
#               v8's PHP images also run as, so both can share the uploads
#   VERSION     what `v8assets version` prints (e.g. `git describe`)
#   BUILD_TIME  RFC 3339 build time (default: the time of the build)
#   GOPROXY     module proxy used by the builder

ARG BUILDER=golang:1.26-bookworm
ARG BASE=debian:bookworm-slim

FROM ${BUILDER} AS builder
ARG GOPROXY=https://proxy.golang.org,direct
# The C libraries of the native codecs (generator/codec_cgo.go).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev libturbojpeg0-dev libwebp-dev libspng-dev libavif-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local CGO_ENABLED=1
WORKDIR /src
COPY go.mod go.sum ./
RUN GOPROXY="$GOPROXY" go mod download
COPY . .
ARG VERSION=devel
ARG BUILD_TIME=
RUN t="${BUILD_TIME:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}" \
 && go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.buildTime=${t}" \
      -o /out/v8assets . \
 && /out/v8assets version

FROM ${BASE}
ARG UID=33
ARG GID=33
# Only the shared libraries the binary links (ldd /usr/local/bin/v8assets),
# and CA certificates for S3 over TLS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libturbojpeg0 libwebp7 libspng0 libavif15 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && if ! getent group "$GID" >/dev/null; then groupadd -g "$GID" v8assets; fi \
 && if ! getent passwd "$UID" >/dev/null; then \
      useradd -u "$UID" -g "$GID" -d /srv/v8assets -s /usr/sbin/nologin -M v8assets; fi
COPY --from=builder /out/v8assets /usr/local/bin/v8assets
# The demo: config.toml serves uploads/demo (a SQLite database made from
# schema.sql and seed.sql on first start). Mount real uploads and a real
# config over it.
COPY schema.sql config.toml config.example.toml /srv/v8assets/
COPY uploads/demo/originals /srv/v8assets/uploads/demo/originals
COPY uploads/demo/seed.sql /srv/v8assets/uploads/demo/seed.sql
RUN mkdir /srv/v8assets/uploads/demo/generated \
 && chown -R "$UID:$GID" /srv/v8assets/uploads
WORKDIR /srv/v8assets
USER ${UID}:${GID}
ENV V8ASSETS_CONFIG=/srv/v8assets/config.toml \
    V8ASSETS_SERVER_LISTEN=0.0.0.0:8080
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["v8assets", "health"]
ENTRYPOINT ["v8assets"]
CMD ["serve"]
