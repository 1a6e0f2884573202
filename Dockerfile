# xero-kafka: a static binary on a distroless base (no shell, runs as a non-root user).
#
#   docker build -t xero-kafka .
#   docker compose up -d --build     # with Kafka and a Schema Registry: see docker-compose.yml

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/xero-kafka ./cmd/xero-kafka

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/xero-kafka /usr/local/bin/xero-kafka
USER nonroot:nonroot
# Metrics and health (HTTP_ADDR).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/xero-kafka"]
CMD ["run"]
