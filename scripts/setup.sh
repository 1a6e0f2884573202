#!/usr/bin/env bash
# setup.sh installs what the tests need, once (later runs find it all and do nothing):
#   - Go modules (go mod download)
#   - Apache Kafka, Apicurio Registry and the interop decoder's Python environment, into .cache/
#     (scripts/provision.sh)
#   - a Docker Compose client to check docker-compose.yml, when there is none: Debian's
#     docker-compose package (no engine), if apt-get can be used
#   - podman, to build the connector's image in its test (internal/integration/image_test.go),
#     when there is none: Debian's podman package, if apt-get can be used
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

log "setup: Go modules"
go mod download

"$ROOT/scripts/provision.sh" all

install_compose() {
	if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
		return 0
	fi
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		log "setup: warning: no Docker Compose client and no way to install one here (root and apt-get);"
		log "       the test of docker-compose.yml fails under XK_REQUIRE_TOOLS (make test)"
		return 0
	fi
	log "setup: installing Debian's docker-compose (a Compose client, no engine) to check docker-compose.yml"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends docker-compose >"$CACHE_DIR/apt.log" 2>&1; then
		apt-get update -q >>"$CACHE_DIR/apt.log" 2>&1 || true
		apt-get install -y -q --no-install-recommends docker-compose >>"$CACHE_DIR/apt.log" 2>&1 || {
			tail -n 20 "$CACHE_DIR/apt.log" >&2
			die "could not install docker-compose with apt-get"
		}
	fi
}

install_podman() {
	if command -v podman >/dev/null 2>&1; then
		return 0
	fi
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		log "setup: no podman and no way to install one here (root and apt-get): the image test skips"
		return 0
	fi
	log "setup: installing Debian's podman to build the connector's image in its test"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q podman >>"$CACHE_DIR/apt.log" 2>&1; then
		apt-get update -q >>"$CACHE_DIR/apt.log" 2>&1 || true
		apt-get install -y -q podman >>"$CACHE_DIR/apt.log" 2>&1 || {
			tail -n 20 "$CACHE_DIR/apt.log" >&2
			die "could not install podman with apt-get"
		}
	fi
}

install_compose
install_podman
log "setup: done in ${SECONDS}s"
