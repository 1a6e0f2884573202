# The images of xero-kafka and of the Xero simulator: static binaries on an empty base, with only
# the CA bundle and a non-root user beside them (no shell, no package manager).
#
#   docker build --target xero-kafka -t xero-kafka .
#   docker build --target xerosim -t xerosim .
#   docker compose --profile xero up -d --build     # see docker-compose.yml
#
# VERSION and COMMIT are what `xero-kafka version` prints:
#   docker build --target xero-kafka --build-arg VERSION=1.2.0 --build-arg COMMIT="$(git rev-parse HEAD)" .
#
# The test of the image (internal/integration/image_test.go) builds the xero-kafka stage below
# with podman from a binary it builds itself, and runs it from the image's root filesystem,
# read-only, as the image's user; the build stage is not run there.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
        -o /out/xero-kafka ./cmd/xero-kafka \
    && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/xerosim ./cmd/xerosim
# What the images hold besides the binary: the CA bundle (Go reads it at this path for TLS to
# Xero, Kafka and the registry) and the user they run as.
RUN mkdir -p /out/rootfs/etc/ssl/certs \
    && cp /etc/ssl/certs/ca-certificates.crt /out/rootfs/etc/ssl/certs/ \
    && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >/out/rootfs/etc/passwd \
    && echo 'nonroot:x:65532:' >/out/rootfs/etc/group

FROM scratch AS xerosim
COPY --from=build /out/rootfs/ /
COPY --from=build /out/xerosim /usr/local/bin/xerosim
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/xerosim"]
CMD ["--addr=:8080"]

# The connector; the last stage, so also what a build without --target gives.
FROM scratch AS xero-kafka
COPY --from=build /out/rootfs/ /
COPY --from=build /out/xero-kafka /usr/local/bin/xero-kafka
USER 65532:65532
# /status, /metrics, /healthz and /readyz (HTTP_ADDR).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/xero-kafka"]
CMD ["run"]
