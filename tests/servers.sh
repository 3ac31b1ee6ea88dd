#!/bin/bash
# Start and stop the real servers the integration tests use: a throwaway
# PostgreSQL cluster and a Redis server on loopback, in a state directory.
#
#   tests/servers.sh start    start both (bounded waits), print nothing else
#   tests/servers.sh env      print export lines for the tests
#   tests/servers.sh stop     stop both and remove the state directory
#
# Ports: AC_TEST_PORT_BASE (default 27200) + 10 for PostgreSQL, + 11 for Redis.
# initdb refuses root: as root, the cluster runs as the postgres user.
set -euo pipefail

STATE=${AC_TEST_STATE:-${TMPDIR:-/tmp}/allclear-test-servers}
BASE=${AC_TEST_PORT_BASE:-27200}
PG_PORT=$((BASE + 10))
REDIS_PORT=$((BASE + 11))
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local secs=$1 what=$2
	shift 2
	local i
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "servers.sh: $what did not come up within ${secs}s" >&2
	return 1
}

start() {
	if [ -e "$STATE/pg/PG_VERSION" ]; then
		echo "servers.sh: already started in $STATE (run: $0 stop)" >&2
		exit 1
	fi
	mkdir -p "$STATE"
	chmod 755 "$STATE"
	mkdir -p "$STATE/pg" "$STATE/run"
	if [ "$(id -u)" = 0 ]; then
		chown postgres:postgres "$STATE/pg" "$STATE/run"
	fi
	# Passwords are checked over TCP, so a test can prove a wrong one fails.
	echo su-secret >"$STATE/pwfile"
	chmod 644 "$STATE/pwfile"
	as_pg "$PGBIN/initdb" -D "$STATE/pg" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
		--pwfile="$STATE/pwfile" --no-sync -E UTF8 >"$STATE/initdb.log" 2>&1 || {
		cat "$STATE/initdb.log" >&2
		exit 1
	}
	as_pg "$PGBIN/pg_ctl" -D "$STATE/pg" -l "$STATE/run/pg.log" -w -t 30 \
		-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$STATE/run -c fsync=off -c max_connections=200" \
		start >/dev/null
	psql_su -c "CREATE ROLE allclear_ro LOGIN PASSWORD 'ro-secret' IN ROLE pg_read_all_data" >/dev/null
	psql_su -c "CREATE DATABASE allclear_test" >/dev/null
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" \
		--dir "$STATE"
	wait_for 10 "redis" redis-cli -p "$REDIS_PORT" ping
}

psql_su() {
	PGPASSWORD=su-secret psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

stop() {
	if [ -e "$STATE/pg/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$STATE/pg" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
	fi
	if [ -e "$STATE/redis.pid" ]; then
		kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$(cat "$STATE/redis.pid")" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$STATE"
}

env_lines() {
	echo "export AC_TEST_PG_PORT=$PG_PORT"
	echo "export AC_TEST_PG_DSN='host=127.0.0.1 port=$PG_PORT user=postgres password=su-secret dbname=allclear_test'"
	echo "export AC_TEST_PG_SU_URL=postgres://postgres:su-secret@127.0.0.1:$PG_PORT"
	echo "export AC_TEST_PG_RO_USER=allclear_ro"
	echo "export AC_TEST_PG_RO_PASSWORD=ro-secret"
	echo "export AC_TEST_REDIS_PORT=$REDIS_PORT"
	echo "export AC_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) env_lines ;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 3
	;;
esac
