#!/usr/bin/env bash
# test.sh is what `make test` runs after `make setup`:
#
#   1. go vet ./...
#   2. gofmt: every Go file formatted (gofmt -l prints nothing)
#   3. go test -race ./...                  on kfake and srfake (meanwhile the real services start,
#                                           on empty data)
#   4. go test -race -count=1 -p 1 <pkgs>   again, on the real Apache Kafka and Apicurio Registry:
#                                           the packages whose tests use internal/testenv
#   5. the services are stopped, whatever happened
#
# Every step runs even if an earlier one failed; the exit status is 1 if any failed.
# Extra flags for go test: GOTESTFLAGS (for example GOTESTFLAGS="-v -run Fencing").
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

GO="${GO:-go}"
read -r -a testflags <<<"${GOTESTFLAGS:-}"
failed=()
export XK_REQUIRE_TOOLS=1 # a missing tool fails its test instead of skipping it

step() {
	local name="$1"
	shift
	local start=$SECONDS
	printf '\n==> %s\n' "$name"
	if ! "$@"; then
		printf '==> FAILED: %s (%ds)\n' "$name" $((SECONDS - start))
		failed+=("$name")
		return
	fi
	printf '==> ok: %s (%ds)\n' "$name" $((SECONDS - start))
}

check_gofmt() {
	local unformatted
	unformatted="$(find . \( -path ./.cache -o -path ./.services -o -path ./.git -o -name node_modules \) -prune \
		-o -name '*.go' -print0 | xargs -0 -r gofmt -l)" || return 1 # gofmt printed why
	if [[ -n "$unformatted" ]]; then
		printf 'not formatted (run gofmt -w):\n%s\n' "$unformatted"
		return 1
	fi
}

# real_packages lists the packages whose tests import internal/testenv: those run again
# against the real services.
real_packages() {
	"$GO" list -e -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
		awk '/ github.com\/xero-kafka\/xero-kafka\/internal\/testenv( |$)/ {print $1}'
}

trap 'printf "\n==> stopping the services\n"; scripts/services.sh down' EXIT

# Fresh services on empty data (a previous run's topics would pile up), started while the fast
# tests run.
scripts/services.sh clean
mkdir -p .services
scripts/services.sh up >.services/up.log 2>&1 &
up_pid=$!

step "go vet ./..." "$GO" vet ./...
step "gofmt" check_gofmt
# -timeout is a safety net for a loaded machine (go test's default is 10 minutes a package),
# not a performance bound.
step "tests on kfake and srfake" "$GO" test -race -timeout 30m "${testflags[@]}" ./...

printf '\n==> starting Apache Kafka and Apicurio Registry\n'
if wait "$up_pid"; then
	cat .services/up.log
	eval "$(scripts/services.sh env)"
	export XK_KAFKA_BROKERS XK_SCHEMA_REGISTRY_URL
	mapfile -t pkgs < <(real_packages)
	if ((${#pkgs[@]} == 0)); then
		printf 'no package imports internal/testenv\n'
		failed+=("tests on the real services")
	else
		# One package at a time: some tests restart the shared broker, which would only slow
		# down the other packages' tests.
		step "tests on Apache Kafka ($XK_KAFKA_BROKERS) and Apicurio ($XK_SCHEMA_REGISTRY_URL)" \
			"$GO" test -race -count=1 -p 1 -timeout 30m "${testflags[@]}" "${pkgs[@]}"
	fi
else
	cat .services/up.log
	failed+=("starting the services")
fi

if ((${#failed[@]} > 0)); then
	printf '\n==> %d step(s) failed after %ds:\n' "${#failed[@]}" "$SECONDS"
	printf '    %s\n' "${failed[@]}"
	exit 1
fi
printf '\n==> all steps passed in %ds\n' "$SECONDS"
