# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts that source it
# Shared settings and helpers for provision.sh and services.sh. Sourced, not run.
#
# Every setting can be overridden from the environment; the defaults are what the
# test suite and CI use.

# Versions of the services (Maven Central coordinates).
KAFKA_VERSION="${XK_KAFKA_VERSION:-4.4.0}"        # org.apache.kafka:kafka_2.13
APICURIO_VERSION="${XK_APICURIO_VERSION:-3.3.3}"  # io.apicurio:apicurio-registry-app:tar.gz:all

# Fixed loopback addresses.
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${XK_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${XK_KAFKA_CONTROLLER_PORT:-19093}"
REGISTRY_PORT="${XK_REGISTRY_PORT:-18081}"
REGISTRY_MANAGEMENT_PORT="${XK_REGISTRY_MANAGEMENT_PORT:-18082}"

# JVM memory: modest, the machine is shared and has two cores.
KAFKA_HEAP_OPTS="${XK_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
REGISTRY_HEAP_OPTS="${XK_REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"

# How long to wait for a service to become ready or to stop, in seconds.
START_TIMEOUT="${XK_START_TIMEOUT:-180}"
STOP_TIMEOUT="${XK_STOP_TIMEOUT:-60}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${XK_CACHE_DIR:-$ROOT/.cache}"          # downloads (git-ignored)
SERVICES_DIR="${XK_SERVICES_DIR:-$ROOT/.services}" # runtime data and logs (git-ignored)

KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
APICURIO_HOME="$CACHE_DIR/apicurio-$APICURIO_VERSION"
INTEROP_VENV="$CACHE_DIR/interop-venv"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# java_major prints the major version of the given java binary (8 for 1.8).
java_major() {
	local v
	v="$("$1" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
	v="${v#1.}"
	printf '%s\n' "${v%%[.+-]*}"
}

# find_java prints the path of a java binary of at least the given major version.
# It looks at $XK_JAVA_HOME, $JAVA_HOME, the java on PATH, then /usr/lib/jvm/*.
find_java() {
	local min="$1" c major
	local candidates=()
	[[ -n "${XK_JAVA_HOME:-}" ]] && candidates+=("$XK_JAVA_HOME/bin/java")
	[[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
	command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
	for c in /usr/lib/jvm/*/bin/java; do candidates+=("$c"); done
	for c in "${candidates[@]}"; do
		[[ -x "$c" ]] || continue
		major="$(java_major "$c")"
		if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= min)); then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

# mvn_run runs Maven in batch mode, keeping its output in a log file that is shown
# (with the command) when it fails.
mvn_run() {
	local logfile="$1"
	shift
	command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is not installed; it downloads the services from Maven Central"
	if ! mvn -B -ntp -Dstyle.color=never "$@" >"$logfile" 2>&1; then
		log "command failed: mvn -B -ntp $*"
		tail -n 40 "$logfile" >&2
		return 1
	fi
}
