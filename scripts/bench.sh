#!/usr/bin/env bash
# bench.sh is what `make bench` runs: it installs tap-xero 2.6.0 (the peer) into
# .cache/tap-xero-venv once, starts the real Kafka and Apicurio with services.sh, builds
# cmd/xero-kafka and the harness (internal/bench/cmd/xkbench), runs every benchmark, prints the
# table, writes BENCHMARKS.md, and stops the services whatever happened. It takes up to 30
# minutes on a 2-core machine.
#
#   scripts/bench.sh                    every row, BENCHMARKS.md rewritten
#   scripts/bench.sh -only '^bulk$'     one row (a regular expression over the row ids); the
#                                       table then goes to .bench/BENCHMARKS.partial.md
#   scripts/bench.sh -connector-env KAFKA_COMPRESSION=zstd ...
#                                       every connector started with that variable too
#
# Logs of every process are kept in .bench/run/. The services use the ports of services.sh
# (XK_KAFKA_PORT and the others, as for the tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

GO="${GO:-go}"
TAP_VENV="$CACHE_DIR/tap-xero-venv"
WORK=".bench"

out="BENCHMARKS.md"
for a in "$@"; do
	[[ "$a" == -only* || "$a" == -connector-env* ]] && out="$WORK/BENCHMARKS.partial.md"
done

# The peer: tap-xero 2.6.0 from PyPI, with six, which it imports without declaring it.
if [[ ! -x "$TAP_VENV/bin/tap-xero" ]]; then
	log "installing tap-xero 2.6.0 into $TAP_VENV"
	python3 -m venv "$TAP_VENV"
	if ! "$TAP_VENV/bin/pip" install --quiet "tap-xero==2.6.0" six >"$CACHE_DIR/tap-xero-pip.log" 2>&1; then
		log "warning: tap-xero did not install (see $CACHE_DIR/tap-xero-pip.log); the peer's row will say so"
		rm -rf "$TAP_VENV"
	fi
fi

mkdir -p "$WORK/bin"
rm -rf "$WORK/run"
"$GO" build -o "$WORK/bin/xero-kafka" ./cmd/xero-kafka
"$GO" build -o "$WORK/bin/xkbench" ./internal/bench/cmd/xkbench

# The broker gets the heap that Kafka's own start script gives it (-Xmx1G -Xms1G), not the
# tests' 128-512 MB. In those, over some 40 syncs of the end-to-end rows, G1 ran 258 young
# collections and 218 concurrent cycles (26 and 4 in 1 GB), and the broker spent up to twice
# the CPU per record.
export XK_KAFKA_HEAP_OPTS="${XK_KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}"
trap 'scripts/services.sh down >&2 || true' EXIT
scripts/services.sh up >&2
eval "$(scripts/services.sh env)"
export XK_KAFKA_BROKERS XK_SCHEMA_REGISTRY_URL

# The services' processes, so the end-to-end rows can report the CPU each spends per record.
pids=()
for svc in kafka registry; do
	pid="$(cat "$SERVICES_DIR/$svc/pid" 2>/dev/null || true)"
	flag="-broker-pid"
	[[ "$svc" == registry ]] && flag="-registry-pid"
	[[ "$pid" =~ ^[0-9]+$ ]] && pids+=("$flag" "$pid")
done

"$WORK/bin/xkbench" -bin "$WORK/bin/xero-kafka" -tap-venv "$TAP_VENV" -dir "$WORK/run" -repo . -out "$out" "${pids[@]}" "$@"
log "table written to $out; logs in $WORK/run/"
