#!/usr/bin/env bash
# Starts (or stops) FerretDB v1.24.2 with its SQLite handler as the local
# MongoDB-wire server for the tests, on 127.0.0.1 and a free port.
#
#   eval "$(scripts/services/ferretdb.sh start STATE_DIR)"
#   scripts/services/ferretdb.sh stop STATE_DIR
#
# start builds tools/ferretdb (a Go module of its own, see its main.go) once
# per version of its sources into a cache directory, starts it in the
# background (pid file, log and data in STATE_DIR), waits until it accepts
# connections and prints only
#   export RECORD_TEST_MONGO_DSN='mongodb://127.0.0.1:PORT/'
#   export RECORD_TEST_FERRETDB_BIN='/path/of/the/built/binary'
# on stdout. Progress and errors go to stderr. The binary lets a test start
# a FerretDB of its own (one it may freeze with SIGSTOP):
#   $RECORD_TEST_FERRETDB_BIN -dir DIR -addr 127.0.0.1:0 -uri-file FILE
#
# The cache is $RECORD_TOOLS_CACHE if set, else $(go env GOCACHE)/record-tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:?usage: ferretdb.sh start|stop STATE_DIR}
state=${2:?usage: ferretdb.sh start|stop STATE_DIR}

log() { echo "ferretdb.sh: $*" >&2; }

build() {
	local src=$root/tools/ferretdb key cache bin
	key=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
	cache=${RECORD_TOOLS_CACHE:-$(go env GOCACHE)/record-tools}
	bin=$cache/ferretdb-$key
	if [ ! -x "$bin" ]; then
		mkdir -p "$cache"
		log "building FerretDB v1.24.2 into $bin (about a minute when cold)"
		(cd "$src" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -trimpath -o "$bin.tmp.$$" .) >&2
		mv -f "$bin.tmp.$$" "$bin"
	fi
	echo "$bin"
}

alive() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

case $cmd in
start)
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	if alive && [ -s "$state/uri" ]; then
		log "already running (pid $(cat "$state/pid"))"
		printf "export RECORD_TEST_MONGO_DSN='%s'\n" "$(cat "$state/uri")"
		printf "export RECORD_TEST_FERRETDB_BIN='%s'\n" "$(build)"
		exit 0
	fi
	bin=$(build)
	rm -f "$state/uri" "$state/pid"
	setsid "$bin" -dir "$state/data" -addr 127.0.0.1:0 -uri-file "$state/uri" -log-level warn \
		</dev/null >>"$state/ferretdb.log" 2>&1 &
	echo $! >"$state/pid"
	for _ in $(seq 1 600); do
		if [ -s "$state/uri" ]; then
			uri=$(cat "$state/uri")
			log "FerretDB is up at $uri (pid $(cat "$state/pid"), log $state/ferretdb.log)"
			printf "export RECORD_TEST_MONGO_DSN='%s'\n" "$uri"
			printf "export RECORD_TEST_FERRETDB_BIN='%s'\n" "$bin"
			exit 0
		fi
		if ! alive; then
			break
		fi
		sleep 0.1
	done
	log "FerretDB did not start; its log:"
	tail -n 30 "$state/ferretdb.log" >&2 || true
	if alive; then kill "$(cat "$state/pid")" 2>/dev/null || true; fi
	exit 1
	;;
stop)
	if ! alive; then
		rm -f "$state/pid"
		exit 0
	fi
	pid=$(cat "$state/pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop on SIGTERM; killing"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$state/pid" "$state/uri"
	;;
*)
	echo "usage: ferretdb.sh start|stop STATE_DIR" >&2
	exit 2
	;;
esac
