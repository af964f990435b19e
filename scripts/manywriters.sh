#!/usr/bin/env bash
# Runs the many-writers measurement (cmd/manywriters): 8, 32 and 64 OS
# processes creating runs and logging at full speed into one PostgreSQL
# database, one SQLite file and one Mongo database, beside the raw driver
# doing the same work with the same concurrency. Prints one Markdown table
# per backend (docs/many-writers.md holds the results and how to read them).
#
#   scripts/manywriters.sh                       # every backend, 8/32/64 writers
#   scripts/manywriters.sh -backends postgres -procs 64 -points 2000000
#
# Arguments go to the program (manywriters -h lists them). Servers named by
# RECORD_TEST_POSTGRES_DSN and RECORD_TEST_MONGO_DSN are used as they are;
# otherwise scripts/services.sh starts throwaway ones for the run. The
# program's exit status is 1 when a check failed (a lost or duplicated
# point, a summary that disagrees with the stored points, an error from the
# library).
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/manywriters.XXXXXX)
trap 'scripts/services.sh stop "$state/services" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
eval "$(scripts/services.sh start "$state/services")"
export CGO_CFLAGS=${CGO_CFLAGS--Wno-deprecated-declarations}
go build -o "$state/manywriters" ./cmd/manywriters

# server_pid PORT: the pid of the process listening on 127.0.0.1:PORT (the
# postmaster, FerretDB), for the server CPU column; empty if unknown.
server_pid() {
	ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
port() { sed -n 's|.*://[^/]*:\([0-9][0-9]*\)/.*|\1|p' <<<"$1"; }

backends=sqlite,postgres,mongo
args=()
while [ $# -gt 0 ]; do
	case $1 in
	-backends | --backends) backends=$2; shift 2 ;;
	-backends=* | --backends=*) backends=${1#*=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for b in ${backends//,/ }; do
	pid=
	case $b in
	postgres) pid=$(server_pid "$(port "${RECORD_TEST_POSTGRES_DSN:-}")") ;;
	mongo) pid=$(server_pid "$(port "${RECORD_TEST_MONGO_DSN:-}")") ;;
	esac
	"$state/manywriters" -backends "$b" ${pid:+-server-pid "$pid"} ${args[@]+"${args[@]}"} || status=$?
done
echo "# done $(date -u '+%H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
