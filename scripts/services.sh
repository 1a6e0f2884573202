#!/usr/bin/env bash
# services.sh runs the real services of the integration suite on loopback, without root or Docker:
#
#   Apache Kafka       KRaft, one node that is broker and controller
#                      127.0.0.1:19092 (clients), 127.0.0.1:19093 (controller)
#   Apicurio Registry  schemas kept on disk (H2 file in .services/registry/db), Confluent-compatible API at
#                      http://127.0.0.1:18081/apis/ccompat/v7 (management: 127.0.0.1:18082)
#
# Usage:
#   scripts/services.sh up [kafka|registry]      provision (once), start and wait until ready
#   scripts/services.sh down [kafka|registry]    stop (data stays in .services/)
#   scripts/services.sh restart kafka|registry   stop and start again on the same data
#   scripts/services.sh crash kafka|registry     kill with SIGKILL (no clean shutdown), then start
#                                                again on the same data
#   scripts/services.sh wait [kafka|registry]    wait until ready
#   scripts/services.sh status                   state, pid, address and memory of each service
#   scripts/services.sh logs [kafka|registry] [lines]
#   scripts/services.sh env                      the XK_* variables that point tests at them
#   scripts/services.sh clean                    stop and delete .services/ (all data and logs)
#
# Without a service name, up/down/wait act on both. Runtime data and logs live in .services/
# (git-ignored); downloads come from scripts/provision.sh and live in .cache/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_DIR="$SERVICES_DIR/kafka"
REGISTRY_DIR="$SERVICES_DIR/registry"
KAFKA_CLUSTER_ID="eGVyby1rYWZrYS10ZXN0MQ" # base64url of the 16 bytes "xero-kafka-test1"
BROKERS="$KAFKA_HOST:$KAFKA_PORT"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"

svc_dir() { if [[ "$1" == kafka ]]; then echo "$KAFKA_DIR"; else echo "$REGISTRY_DIR"; fi; }

# pid_of prints the pid of the running service, or nothing. A pid file whose process is gone,
# or belongs to some other program, does not count.
pid_of() {
	local dir pid
	dir="$(svc_dir "$1")"
	[[ -f "$dir/pid" ]] || return 0
	pid="$(cat "$dir/pid")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-Dxk.service=$1 -Dxk.dir=$dir "; then
		echo "$pid"
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rss_mib() { awk '/^VmRSS:/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status" 2>/dev/null || true; }

# fail_start reports a service that did not come up, with the tail of its log, and stops it.
fail_start() {
	local svc="$1" why="$2" dir pid
	dir="$(svc_dir "$svc")"
	log "error: $svc did not come up: $why"
	log "---- last 40 lines of $dir/out.log ----"
	tail -n 40 "$dir/out.log" >&2 || true
	log "----"
	pid="$(pid_of "$svc")"
	if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
	exit 1
}

# launch starts a JVM in its own session, detached from this shell, with output in out.log.
launch() {
	local svc="$1" dir
	shift
	dir="$(svc_dir "$svc")"
	if [[ -f "$dir/out.log" ]]; then mv -f "$dir/out.log" "$dir/out.log.1"; fi
	setsid "$@" >"$dir/out.log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	date +%s.%N >"$dir/started"
	touch "$dir/starting"
}

write_kafka_config() {
	mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
	cat >"$KAFKA_DIR/server.properties" <<EOF
# One KRaft node that is both broker and controller, on loopback (written by scripts/services.sh).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data

# A single node: internal topics with one replica, fewer partitions than the defaults (50),
# so the first group or transaction does not wait for 50 partitions to be created.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
group.initial.rebalance.delay.ms=0

# Tests create their topics explicitly, like a production cluster that forbids auto-creation.
auto.create.topics.enable=false

# Compaction: the cleaner looks for work every second (default 15 s) so tests can observe it;
# topics still need a small segment.ms and min.cleanable.dirty.ratio. The dedupe buffer is
# allocated on the heap: 16 MiB instead of 128 MiB keeps the heap small.
log.cleaner.backoff.ms=1000
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.threads=1

# Record size limits stay at Kafka's defaults (message.max.bytes about 1 MiB), like most
# production clusters; a topic that needs larger records sets max.message.bytes itself.
EOF
	cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.ak.name = org.apache.kafka
logger.ak.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = INFO
EOF
}

kafka_java() {
	find_java 17 || die "Kafka $KAFKA_VERSION needs Java 17 or later; none found (set XK_JAVA_HOME)"
}

registry_java() {
	# Apicurio Registry 3.3 is compiled for Java 21 (class file version 65).
	find_java 21 || die "Apicurio Registry $APICURIO_VERSION needs Java 21 or later; none found in JAVA_HOME, PATH or /usr/lib/jvm (set XK_JAVA_HOME)"
}

start_kafka() {
	if [[ -n "$(pid_of kafka)" ]]; then
		log "kafka: already running (pid $(pid_of kafka))"
		return 0
	fi
	port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another program; stop it or set XK_KAFKA_PORT"
	port_open "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is in use by another program; stop it or set XK_KAFKA_CONTROLLER_PORT"
	local java
	java="$(kafka_java)"
	write_kafka_config
	local heap jvm
	read -r -a heap <<<"$KAFKA_HEAP_OPTS"
	jvm=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent
		-Djava.awt.headless=true
		-Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$KAFKA_DIR/logs")
	if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
		# Static quorum (controller.quorum.voters): a plain format, no --standalone.
		"$java" "${jvm[@]}" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format \
			-t "$KAFKA_CLUSTER_ID" -c "$KAFKA_DIR/server.properties" -g >"$KAFKA_DIR/format.log" 2>&1 ||
			{ cat "$KAFKA_DIR/format.log" >&2; die "kafka: formatting $KAFKA_DIR/data failed"; }
	fi
	log "kafka: starting Apache Kafka $KAFKA_VERSION on $BROKERS"
	launch kafka "$java" "${jvm[@]}" -Dxk.service=kafka -Dxk.dir="$KAFKA_DIR" \
		-cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties"
}

start_registry() {
	if [[ -n "$(pid_of registry)" ]]; then
		log "registry: already running (pid $(pid_of registry))"
		return 0
	fi
	port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is in use by another program; stop it or set XK_REGISTRY_PORT"
	port_open "$REGISTRY_MANAGEMENT_PORT" && die "port $REGISTRY_MANAGEMENT_PORT is in use by another program; stop it or set XK_REGISTRY_MANAGEMENT_PORT"
	local java jar heap
	java="$(registry_java)"
	read -r -a heap <<<"$REGISTRY_HEAP_OPTS"
	jar="$APICURIO_HOME/$(cat "$APICURIO_HOME/JAR")"
	mkdir -p "$REGISTRY_DIR"
	log "registry: starting Apicurio Registry $APICURIO_VERSION on $REGISTRY_URL"
	# Storage: an H2 database in a file, so a restart keeps every schema id, and the records
	# written with them stay decodable. Not KafkaSQL on the test broker: the suite restarts and
	# kills that broker, and the registry must go on serving its schemas meanwhile; a file does
	# not depend on it. Compatibility BACKWARD by default, like a Confluent registry (Apicurio's
	# own default is no rule at all).
	launch registry "$java" "${heap[@]}" -XX:+UseSerialGC -Djava.awt.headless=true \
		-Dxk.service=registry -Dxk.dir="$REGISTRY_DIR" \
		-Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
		-Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
		-Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
		-Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_DIR/db/registry" \
		-Dapicurio.rules.global.compatibility=BACKWARD \
		-Djava.io.tmpdir="$REGISTRY_DIR" \
		-jar "$jar"
}

probe_bin() {
	local bin="$CACHE_DIR/bin/kafkaready"
	command -v go >/dev/null 2>&1 || die "Go is needed to build the Kafka readiness probe"
	mkdir -p "$CACHE_DIR/bin"
	(cd "$ROOT" && go build -o "$bin" ./scripts/kafkaready) || die "could not build ./scripts/kafkaready"
	echo "$bin"
}

# ready_msg says a service is ready: with its start-up time when this run started it.
ready_msg() {
	local svc="$1" addr="$2" dir pid took=""
	dir="$(svc_dir "$svc")"
	pid="$(pid_of "$svc")"
	if [[ -f "$dir/starting" ]]; then
		took=" after $(echo "$(date +%s.%N) $(cat "$dir/started")" | awk '{printf "%.1f", $1 - $2}')s"
		rm -f "$dir/starting"
	fi
	log "$svc: ready on $addr$took (pid $pid, RSS $(rss_mib "$pid"))"
}

wait_kafka() {
	local deadline=$((SECONDS + START_TIMEOUT)) probe
	probe="$(probe_bin)"
	[[ -n "$(pid_of kafka)" ]] || fail_start kafka "not running"
	until grep -q "Kafka Server started" "$KAFKA_DIR/out.log" 2>/dev/null; do
		[[ -n "$(pid_of kafka)" ]] || fail_start kafka "the process exited"
		((SECONDS < deadline)) || fail_start kafka "no \"Kafka Server started\" line within ${START_TIMEOUT}s"
		sleep 0.2
	done
	# The log line says the server started; a Metadata round trip says it serves clients.
	"$probe" -brokers "$BROKERS" -timeout "$((deadline - SECONDS > 1 ? deadline - SECONDS : 1))s" ||
		fail_start kafka "the broker does not answer Kafka requests on $BROKERS"
	ready_msg kafka "$BROKERS"
}

wait_registry() {
	local deadline=$((SECONDS + START_TIMEOUT)) code
	[[ -n "$(pid_of registry)" ]] || fail_start registry "not running"
	while :; do
		code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$REGISTRY_URL/subjects" || true)"
		[[ "$code" == 200 ]] && break
		[[ -n "$(pid_of registry)" ]] || fail_start registry "the process exited"
		((SECONDS < deadline)) || fail_start registry "GET $REGISTRY_URL/subjects did not answer 200 within ${START_TIMEOUT}s (last: $code)"
		sleep 0.2
	done
	ready_msg registry "$REGISTRY_URL"
}

stop_svc() {
	local svc="$1" pid deadline
	pid="$(pid_of "$svc")"
	if [[ -z "$pid" ]]; then
		rm -f "$(svc_dir "$svc")/pid"
		return 0
	fi
	log "$svc: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while [[ -n "$(pid_of "$svc")" ]] && ((SECONDS < deadline)); do sleep 0.2; done
	if [[ -n "$(pid_of "$svc")" ]]; then
		log "$svc: still running after ${STOP_TIMEOUT}s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
		while [[ -n "$(pid_of "$svc")" ]]; do sleep 0.2; done
	fi
	rm -f "$(svc_dir "$svc")/pid"
}

# kill_svc kills a service with SIGKILL, as a crash of its machine would, and waits until it
# is gone.
kill_svc() {
	local svc="$1" pid
	pid="$(pid_of "$svc")"
	if [[ -n "$pid" ]]; then
		log "$svc: killing (pid $pid) with SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while [[ -n "$(pid_of "$svc")" ]]; do sleep 0.1; done
	fi
	rm -f "$(svc_dir "$svc")/pid"
	# The kernel closes a killed process's sockets a moment after it is gone.
	local port deadline=$((SECONDS + STOP_TIMEOUT))
	for port in $(svc_ports "$svc"); do
		while port_open "$port"; do
			((SECONDS < deadline)) || die "$svc: port $port still open ${STOP_TIMEOUT}s after SIGKILL"
			sleep 0.1
		done
	done
}

svc_ports() {
	if [[ "$1" == kafka ]]; then
		echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
	else
		echo "$REGISTRY_PORT $REGISTRY_MANAGEMENT_PORT"
	fi
}

targets() {
	case "${1:-}" in
	"") echo kafka registry ;;
	kafka | registry) echo "$1" ;;
	*) die "unknown service '$1' (kafka or registry)" ;;
	esac
}

cmd_up() {
	local svcs
	svcs="$(targets "${1:-}")"
	for s in $svcs; do "$ROOT/scripts/provision.sh" "$s"; done
	# Start both, then wait for both: the two JVMs boot in parallel.
	for s in $svcs; do "start_$s"; done
	for s in $svcs; do "wait_$s"; done
}

cmd_status() {
	local s pid addr
	for s in kafka registry; do
		if [[ "$s" == kafka ]]; then addr="$BROKERS"; else addr="$REGISTRY_URL"; fi
		pid="$(pid_of "$s")"
		if [[ -n "$pid" ]]; then
			printf '%-9s running  pid %-7s %s  RSS %s\n' "$s" "$pid" "$addr" "$(rss_mib "$pid")"
		else
			printf '%-9s stopped\n' "$s"
		fi
	done
}

main() {
	local cmd="${1:-}"
	shift || true
	case "$cmd" in
	up) cmd_up "${1:-}" ;;
	down) for s in $(targets "${1:-}" | tr ' ' '\n' | tac); do stop_svc "$s"; done ;;
	restart)
		[[ -n "${1:-}" ]] || die "usage: $0 restart kafka|registry"
		targets "$1" >/dev/null
		stop_svc "$1"
		"start_$1"
		"wait_$1"
		;;
	crash)
		[[ -n "${1:-}" ]] || die "usage: $0 crash kafka|registry"
		targets "$1" >/dev/null
		kill_svc "$1"
		"start_$1"
		"wait_$1"
		;;
	wait) for s in $(targets "${1:-}"); do "wait_$s"; done ;;
	status) cmd_status ;;
	logs)
		local s
		for s in $(targets "${1:-}"); do
			log "==== $s: $(svc_dir "$s")/out.log ===="
			tail -n "${2:-100}" "$(svc_dir "$s")/out.log" 2>/dev/null || log "(no log yet)"
		done
		;;
	env)
		echo "export XK_KAFKA_BROKERS=$BROKERS"
		echo "export XK_SCHEMA_REGISTRY_URL=$REGISTRY_URL"
		;;
	clean)
		stop_svc registry
		stop_svc kafka
		rm -rf "$SERVICES_DIR"
		;;
	*)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
