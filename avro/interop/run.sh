#!/usr/bin/env bash
# Installs Apache Avro's Python implementation into .cache/avro-interop (git-ignored) and runs
# TestInterop, which checks that it decodes what the transcoder writes to the same values as the
# JSON it was given. Needs python3 with the venv module (Debian: python3-venv) and PyPI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.cache/avro-interop"
avro_version="1.12.2"

if ! "$venv/bin/python" -c "import avro, sys; sys.exit(avro.__version__ != '$avro_version')" 2>/dev/null; then
	python3 -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "avro==$avro_version"
fi

cd "$root"
AVRO_INTEROP_PYTHON="$venv/bin/python" go test -count=1 -run 'TestInterop' -v ./avro/ "$@"
