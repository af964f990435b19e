#!/usr/bin/env bash
# Starts (or stops) the servers the tests need, on loopback and free ports:
# a throwaway PostgreSQL cluster and a MongoDB-wire server (FerretDB).
#
#   eval "$(scripts/services.sh start STATE_DIR)"   # prints export lines
#   scripts/services.sh stop STATE_DIR
#
# A server whose DSN variable (RECORD_TEST_POSTGRES_DSN,
# RECORD_TEST_MONGO_DSN) is already set is not started. Progress goes to
# stderr; only the export lines go to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: services.sh start|stop STATE_DIR}
state=${2:?usage: services.sh start|stop STATE_DIR}
mkdir -p "$state"
case $cmd in
start)
	if [ -z "${RECORD_TEST_POSTGRES_DSN:-}" ] && [ -x "$here/services/postgres.sh" ]; then
		"$here/services/postgres.sh" start "$state/postgres"
	fi
	if [ -z "${RECORD_TEST_MONGO_DSN:-}" ] && [ -x "$here/services/ferretdb.sh" ]; then
		"$here/services/ferretdb.sh" start "$state/ferretdb"
	fi
	;;
stop)
	for s in ferretdb postgres; do
		if [ -d "$state/$s" ] && [ -x "$here/services/$s.sh" ]; then
			"$here/services/$s.sh" stop "$state/$s" || true
		fi
	done
	;;
*)
	echo "usage: services.sh start|stop STATE_DIR" >&2
	exit 2
	;;
esac
