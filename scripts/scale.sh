#!/usr/bin/env bash
# Measures xero-kafka run, as its own process, against a cmd/xerosim process with many
# organisations of the simulator's default (small) volumes, on the broker and registry of
# scripts/services.sh: peak RSS during the first sync and during a restart with nothing new,
# the time to the first call after the restart, and the sizes of /status and /metrics.
#
#   scripts/services.sh up && scripts/scale.sh            # TENANTS=1000 by default
#   TENANTS=200 SIM_FLAGS=--no-limits scripts/scale.sh     # without Xero's rate limits
#
# Environment: TENANTS, SIM_FLAGS (extra xerosim flags), PAGE_MEMORY_MIB (passed on), WAIT
# (seconds to wait for caught up, default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh env)"
TENANTS=${TENANTS:-1000}
WAIT=${WAIT:-1200}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/xerosim" ./cmd/xerosim
go build -o "$work/xero-kafka" ./cmd/xero-kafka

# shellcheck disable=SC2086
"$work/xerosim" --tenants "$TENANTS" ${SIM_FLAGS:-} >"$work/sim.out" 2>"$work/sim.err" &
until grep -q '^refresh token:' "$work/sim.out"; do sleep 0.2; done
field() { sed -n "s/^$1: *//p" "$work/sim.out" | head -1; }
base=$(field "base URL")
port=$((20000 + RANDOM % 10000))
topic=scale$RANDOM
export XERO_CLIENT_ID=$(field "client id") XERO_CLIENT_SECRET=$(field "client secret")
export XERO_REFRESH_TOKEN=$(field "refresh token") XERO_API_URL=$base XERO_IDENTITY_URL=$base
export XERO_STATE_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export KAFKA_BOOTSTRAP_SERVERS=$XK_KAFKA_BROKERS SCHEMA_REGISTRY_URL=$XK_SCHEMA_REGISTRY_URL
export KAFKA_TOPIC_PREFIX=$topic KAFKA_STATE_TOPIC=_$topic-state KAFKA_TRANSACTIONAL_ID=$topic
export HTTP_ADDR=127.0.0.1:$port LOG_FORMAT=json
url=http://127.0.0.1:$port

caught_up() { curl -sf "$url/status" | grep -q '"caught_up": true'; }
pages() { curl -sf "$url/metrics" | awk '/^xero_kafka_pages_total/ {n += $2} END {print n + 0}'; }

# run NAME: starts the connector, waits until every stream has caught up once, prints figures,
# and stops it.
run() {
	local name=$1 start first=""
	start=$(date +%s.%N)
	"$work/xero-kafka" run >"$work/$name.log" 2>&1 &
	local pid=$! deadline=$((SECONDS + WAIT))
	until caught_up; do
		if [ -z "$first" ] && [ "$(pages 2>/dev/null || echo 0)" != 0 ]; then
			first=$(echo "$(date +%s.%N) - $start" | bc)
		fi
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
			echo "$name: not caught up; log tail:" >&2
			tail -5 "$work/$name.log" >&2
			return 1
		fi
		sleep 0.2
	done
	local done_s
	done_s=$(echo "$(date +%s.%N) - $start" | bc)
	local hwm status_b all_b metrics_b
	hwm=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
	status_b=$(curl -sf "$url/status" | wc -c)
	all_b=$(curl -sf "$url/status?all" | wc -c)
	metrics_b=$(curl -sf "$url/metrics" | wc -c)
	printf '%s: tenants %d, peak RSS %s MiB, first page after %.1f s, caught up after %.1f s, /status %d B, /status?all %d B, /metrics %d B\n' \
		"$name" "$TENANTS" "$hwm" "${first:-0}" "$done_s" "$status_b" "$all_b" "$metrics_b"
	kill -TERM "$pid"
	wait "$pid" || true
}

run first-sync
run restart
