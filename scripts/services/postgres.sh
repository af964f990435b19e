#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL cluster for the tests, from the
# system's binaries, on 127.0.0.1 and a free port.
#
#   eval "$(scripts/services/postgres.sh start STATE_DIR)"
#   scripts/services/postgres.sh stop STATE_DIR
#
# start prints only export lines on stdout:
#   RECORD_TEST_POSTGRES_DSN          postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   RECORD_TEST_POSTGRES_RESTART_DSN  a second cluster, for the connection-loss test
#   RECORD_TEST_POSTGRES_RESTART      a shell command that restarts that second cluster
# The connection-loss test restarts a cluster of its own, so that tests of
# other packages, which go test runs at the same time, keep their server.
# Progress goes to stderr. initdb and postgres refuse to run as root, so as
# root the cluster runs as the postgres user in a directory of its own
# under /tmp (STATE_DIR records where); postgresql-15 is installed with apt
# only when no PostgreSQL binaries are found.
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop STATE_DIR}
state=${2:?usage: postgres.sh start|stop STATE_DIR}

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

# as_pg runs a command as the cluster's owner: the postgres user when we are
# root (initdb and postgres refuse root), else ourselves.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_cluster DIR starts one cluster and records its base directory,
# binaries and port in DIR.
start_cluster() {
	local state=$1
	mkdir -p "$state"
	local bindir
	if ! bindir=$(find_bindir); then
		log "no PostgreSQL binaries found; installing postgresql-15 with apt"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y postgresql-15 >&2 || { apt-get update >&2 && apt-get install -y postgresql-15 >&2; }
		bindir=$(find_bindir) || { log "postgresql-15 installed but initdb not found"; exit 1; }
	fi
	local base
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
		# STATE_DIR may sit in a root-only directory (mktemp -d is 0700), so
		# the cluster lives in a directory of its own that postgres owns.
		base=$(mktemp -d /tmp/record-postgres.XXXXXX)
		chown postgres: "$base"
	else
		base="$state/cluster"
		mkdir -p "$base"
	fi
	chmod 0700 "$base"
	echo "$base" >"$state/base"
	echo "$bindir" >"$state/bindir"
	log "initdb in $base/data ($bindir)"
	as_pg "$bindir/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --no-sync >"$state/initdb.log" 2>&1 ||
		{ cat "$state/initdb.log" >&2; exit 1; }
	# Everyone is trusted on loopback, except the role record_pw_test, which
	# must give its password: the tests log in as it with a wrong password
	# to check that no error shows it.
	as_pg sh -c "{ echo 'host all record_pw_test 127.0.0.1/32 scram-sha-256'; cat '$base/data/pg_hba.conf'; } >'$base/data/pg_hba.new' && mv '$base/data/pg_hba.new' '$base/data/pg_hba.conf'"
	local port tries=0
	while :; do
		tries=$((tries + 1))
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		if as_pg "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 30 start \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=off -c full_page_writes=off -c max_connections=200" >&2; then
			break
		fi
		if [ $tries -ge 5 ]; then
			log "could not start the server; its log:"
			cat "$base/server.log" >&2 || true
			exit 1
		fi
		log "start on port $port failed; trying another port"
	done
	echo "$port" >"$state/port"
	log "PostgreSQL listening on 127.0.0.1:$port"
}

start() {
	start_cluster "$state"
	start_cluster "$state/restartable"
	local base bindir port
	base=$(cat "$state/restartable/base")
	bindir=$(cat "$state/restartable/bindir")
	port=$(cat "$state/restartable/port")
	local restart="$bindir/pg_ctl -D $base/data -l $base/server.log -m fast -w -t 30 restart"
	if [ "$(id -u)" = 0 ]; then
		restart="runuser -u postgres -- $restart"
	fi
	echo "export RECORD_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:$(cat "$state/port")/postgres?sslmode=disable'"
	echo "export RECORD_TEST_POSTGRES_RESTART_DSN='postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
	echo "export RECORD_TEST_POSTGRES_RESTART='$restart >/dev/null'"
}

# stop_cluster DIR stops the cluster recorded in DIR.
stop_cluster() {
	local state=$1
	[ -f "$state/base" ] || { log "nothing to stop in $state"; return 0; }
	local base bindir
	base=$(cat "$state/base")
	bindir=$(cat "$state/bindir")
	if [ -f "$base/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$base/data" -m fast -w -t 30 stop >&2 ||
			as_pg "$bindir/pg_ctl" -D "$base/data" -m immediate -w stop >&2 || true
	fi
	case $base in
	/tmp/record-postgres.* | "$state"/cluster) rm -rf "$base" ;;
	esac
	rm -f "$state/base" "$state/bindir" "$state/port"
	log "stopped"
}

stop() {
	stop_cluster "$state/restartable"
	stop_cluster "$state"
}

case $cmd in
start) start ;;
stop) stop ;;
*)
	echo "usage: postgres.sh start|stop STATE_DIR" >&2
	exit 2
	;;
esac
