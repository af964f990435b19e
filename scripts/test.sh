#!/usr/bin/env bash
# The one test command: starts the servers the tests need, then runs go vet
# and every test under the race detector with every backend required.
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/record-services.XXXXXX)
trap 'scripts/services.sh stop "$state"; rm -rf "$state"' EXIT
eval "$(scripts/services.sh start "$state")"
export RECORD_TEST_REQUIRE=${RECORD_TEST_REQUIRE-postgres,mongo,browser}
# The browser tests of package serve drive headless Chromium: Debian's
# chromium package, installed when missing (as postgres.sh installs PostgreSQL).
if [ -z "${RECORD_TEST_CHROMIUM:-}" ]; then
	if ! RECORD_TEST_CHROMIUM=$(command -v chromium); then
		echo "== installing chromium with apt" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y chromium >&2 || { apt-get update >&2 && apt-get install -y chromium >&2; }
		RECORD_TEST_CHROMIUM=$(command -v chromium) || { echo "chromium installed but not on PATH" >&2; exit 1; }
	fi
fi
export RECORD_TEST_CHROMIUM
export CGO_CFLAGS=${CGO_CFLAGS--Wno-deprecated-declarations}
echo "== go vet" >&2
go vet ./...
echo "== go test -race ./... (required: $RECORD_TEST_REQUIRE)" >&2
go test -race -count=1 -timeout 20m "$@" ./...
