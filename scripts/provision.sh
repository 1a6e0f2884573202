#!/usr/bin/env bash
# provision.sh downloads what the integration suite runs, into .cache/ (git-ignored):
#
#   kafka     Apache Kafka (org.apache.kafka:kafka_2.13 and its runtime dependencies, plus the
#             SLF4J -> Log4j2 binding that Kafka's POM leaves out) from Maven Central
#   registry  Apicurio Registry (io.apicurio:apicurio-registry-app, tar.gz "all") from Maven Central
#   interop   a Python virtual environment with the independent Kafka/Avro clients of interop/
#   all       all three (the default)
#
# Each part is done once: a later run finds it in .cache/ and does nothing. Maven keeps its own
# copy in ~/.m2, so clearing .cache/ alone does not download again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

provision_kafka() {
	if [[ -f "$KAFKA_HOME/.complete" ]]; then
		return 0
	fi
	log "provision: Apache Kafka $KAFKA_VERSION from Maven Central"
	local tmp="$KAFKA_HOME.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp/libs"
	# A POM used only to resolve the broker's runtime classpath.
	cat >"$tmp/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.xero-kafka</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	mvn_run "$tmp/mvn.log" -f "$tmp/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp/libs" ||
		die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"

	# Kafka's release tarball adds the SLF4J binding for Log4j2 itself; the POM does not list it.
	# Use the binding that matches the resolved slf4j-api (1.x or 2.x) and log4j-core versions.
	local log4j="" slf4j="" binding jar
	for jar in "$tmp"/libs/log4j-core-*.jar; do
		if [[ -f "$jar" ]]; then log4j="${jar##*/log4j-core-}" log4j="${log4j%.jar}"; fi
	done
	for jar in "$tmp"/libs/slf4j-api-*.jar; do
		if [[ -f "$jar" ]]; then slf4j="${jar##*/slf4j-api-}" slf4j="${slf4j%.jar}"; fi
	done
	[[ -n "$log4j" ]] || die "kafka_2.13:$KAFKA_VERSION did not bring log4j-core; see $tmp/libs"
	[[ -n "$slf4j" ]] || die "kafka_2.13:$KAFKA_VERSION did not bring slf4j-api; see $tmp/libs"
	if [[ "$slf4j" == 1.* ]]; then binding="log4j-slf4j-impl"; else binding="log4j-slf4j2-impl"; fi
	mvn_run "$tmp/mvn-binding.log" dependency:copy \
		-Dartifact="org.apache.logging.log4j:$binding:$log4j" -DoutputDirectory="$tmp/libs" ||
		die "could not download org.apache.logging.log4j:$binding:$log4j"

	# The two entry points the services script runs must be on this classpath.
	local cls found
	for cls in kafka/tools/StorageTool.class kafka/Kafka.class; do
		found=""
		for jar in "$tmp"/libs/kafka_2.13-*.jar; do
			if unzip -l "$jar" "$cls" >/dev/null 2>&1; then found="$jar"; fi
		done
		[[ -n "$found" ]] || die "$cls not found in kafka_2.13-$KAFKA_VERSION"
	done

	printf 'kafka_2.13 %s\nslf4j-api %s\nlog4j %s (%s)\n' "$KAFKA_VERSION" "$slf4j" "$log4j" "$binding" >"$tmp/VERSIONS"
	touch "$tmp/.complete"
	rm -rf "$KAFKA_HOME"
	mv "$tmp" "$KAFKA_HOME"
	local jars=("$KAFKA_HOME"/libs/*.jar)
	log "provision: Kafka ready in $KAFKA_HOME (${#jars[@]} jars)"
}

provision_registry() {
	if [[ -f "$APICURIO_HOME/.complete" ]]; then
		return 0
	fi
	log "provision: Apicurio Registry $APICURIO_VERSION from Maven Central"
	local tmp="$APICURIO_HOME.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp/app"
	mvn_run "$tmp/mvn.log" dependency:copy \
		-Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$tmp" ||
		die "could not download io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all from Maven Central"
	tar -xzf "$tmp/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$tmp/app"
	rm -f "$tmp/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" # Maven keeps a copy in ~/.m2
	# The layout differs between versions (3.1 has a quarkus-app/ folder, 3.3 has none).
	local jar
	jar="$(find "$tmp/app" -name quarkus-run.jar -type f | head -n 1)"
	[[ -n "$jar" ]] || die "quarkus-run.jar not found in apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
	printf '%s\n' "${jar#"$tmp/"}" >"$tmp/JAR"
	touch "$tmp/.complete"
	rm -rf "$APICURIO_HOME"
	mv "$tmp" "$APICURIO_HOME"
	log "provision: Apicurio ready in $APICURIO_HOME"
}

provision_interop() {
	local req="$ROOT/interop/requirements.txt" sum
	[[ -f "$req" ]] || die "$req is missing"
	sum="$(sha256sum "$req" | cut -d' ' -f1)"
	if [[ -f "$INTEROP_VENV/.requirements.sha256" && "$(cat "$INTEROP_VENV/.requirements.sha256")" == "$sum" ]]; then
		return 0
	fi
	local py="${XK_PYTHON:-python3}"
	command -v "$py" >/dev/null 2>&1 || die "$py is not installed; the interop decoder needs Python 3.9 or later"
	log "provision: Python environment for interop/ in $INTEROP_VENV"
	rm -rf "$INTEROP_VENV"
	"$py" -m venv "$INTEROP_VENV" || die "could not create a virtual environment with $py -m venv"
	if ! "$INTEROP_VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: -r "$req" >"$CACHE_DIR/interop-pip.log" 2>&1; then
		log "command failed: $INTEROP_VENV/bin/pip install --only-binary=:all: -r $req"
		tail -n 40 "$CACHE_DIR/interop-pip.log" >&2
		exit 1
	fi
	printf '%s\n' "$sum" >"$INTEROP_VENV/.requirements.sha256"
}

main() {
	mkdir -p "$CACHE_DIR"
	local what="${1:-all}"
	case "$what" in
	kafka) provision_kafka ;;
	registry) provision_registry ;;
	interop) provision_interop ;;
	all)
		provision_kafka
		provision_registry
		provision_interop
		;;
	*) die "usage: $0 [kafka|registry|interop|all]" ;;
	esac
}

main "$@"
