# The one test command is `make test`: on a fresh machine it installs what it needs, checks the
# code, runs the tests on in-process fakes, then again on a real Apache Kafka and Apicurio
# Registry that it starts and stops. See scripts/test.sh.

GO ?= go

.PHONY: test setup bench bench-go services-up services-down services-restart-kafka services-status services-logs services-clean

test: setup
	GO=$(GO) scripts/test.sh

# Go modules, Kafka and Apicurio from Maven Central, the interop decoder's Python environment,
# a Docker Compose client: each once.
setup:
	scripts/setup.sh

# The benchmark table: xero-kafka as its own process on the real Kafka and Apicurio (started
# and stopped here), kfake, 1,000 organisations, tap-xero side by side; writes BENCHMARKS.md.
# Up to 30 minutes. scripts/bench.sh -only REGEXP runs some rows only.
bench:
	GO=$(GO) scripts/bench.sh

# The Go micro-benchmarks of the packages.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The real services, for running tests by hand:
#   make services-up && eval "$$(scripts/services.sh env)" && go test ./internal/integration/
services-up:
	scripts/services.sh up

services-down:
	scripts/services.sh down

services-restart-kafka:
	scripts/services.sh restart kafka

services-status:
	scripts/services.sh status

services-logs:
	scripts/services.sh logs

# Stop the services and delete their data and logs (.services/).
services-clean:
	scripts/services.sh clean
