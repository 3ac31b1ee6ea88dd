#!/bin/bash
# Benchmarks: one command. Starts its own fixed-response nginx target
# (bench/target.sh, 127.0.0.1:47090), a throwaway PostgreSQL and Redis
# (127.0.0.1:48510 and :48511, in a temporary directory), installs the peers
# it compares against when missing (newman and Step CI from npm into a cache
# directory outside the repository, wrk from Debian), runs the cases of
# bench/bench.py and stops everything it started on exit.
#
#   bench/run.sh                    every case (about 10 minutes on 2 cores)
#   bench/run.sh --quick            fewer repetitions, smaller sizes, 30 s watch
#   bench/run.sh --only 2,6         some cases (numbers or names, see --help)
#   bench/run.sh --json FILE        where the figures go (default bench/results/latest.json)
#   bench/run.sh --allclear PATH    measure another build (before/after an engine change)
#
# Environment: AC_BUILD_DIR (default build/), BENCH_CACHE (npm peers, default
# ~/.cache/allclear-bench), BENCH_PG_PORT, BENCH_REDIS_PORT (48510, 48511).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for a in "$@"; do
	case $a in -h | --help) exec python3 "$ROOT/bench/bench.py" --help ;; esac
done

BUILD=${AC_BUILD_DIR:-$ROOT/build}
CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/allclear-bench}
PG_PORT=${BENCH_PG_PORT:-48510}
REDIS_PORT=${BENCH_REDIS_PORT:-48511}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/allclear-bench-XXXXXX")
chmod 755 "$WORK"
export BENCH_STATE=$WORK/target

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
	bash "$ROOT/bench/target.sh" down >/dev/null 2>&1 || true
	if [ -e "$WORK/pg/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
	fi
	local rpid
	rpid=$(cat "$WORK/redis.pid" 2>/dev/null || true)
	if [ -n "$rpid" ]; then
		kill "$rpid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$rpid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$WORK"
}
BENCH_PY=
trap cleanup EXIT
# The harness runs in the background so that a signal reaches this trap at once;
# it stops the run in progress (its own process group) before exiting.
trap '[ -n "$BENCH_PY" ] && kill -TERM "$BENCH_PY" 2>/dev/null && wait "$BENCH_PY"; exit 130' INT TERM

say() { echo "bench: $*" >&2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# allclear itself: build it when there is no binary (an explicit --allclear wins).
if [[ " $* " != *" --allclear "* ]] && [ ! -x "$BUILD/allclear" ]; then
	say "building allclear in $BUILD"
	{ [ -e "$BUILD/build.ninja" ] || meson setup "$BUILD"; } >/dev/null
	ninja -C "$BUILD" >/dev/null
fi

# The launcher that measures each run (wait4 of the command itself).
cc -O2 -Wall -o "$WORK/measure" "$ROOT/bench/measure.c"
export BENCH_MEASURE=$WORK/measure

# Peers. wrk and GNU time from Debian (as root only), newman and Step CI from npm
# into the cache directory; a peer that cannot be installed is reported as
# skipped by the case that needs it, never silently left out.
if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing wrk (apt-get install -y wrk)"
		apt-get install -y wrk >"$WORK/apt.log" 2>&1 || say "could not install wrk: $(tail -n 1 "$WORK/apt.log")"
	else
		say "wrk is missing and cannot be installed here (needs root and apt-get)"
	fi
fi
mkdir -p "$CACHE"
if [ ! -x "$CACHE/node_modules/.bin/newman" ] || [ ! -x "$CACHE/node_modules/.bin/stepci" ]; then
	if command -v npm >/dev/null; then
		say "installing newman and Step CI into $CACHE"
		(cd "$CACHE" && npm install --silent --no-audit --no-fund newman@6.2.2 stepci@2.8.2 >"$WORK/npm.log" 2>&1) ||
			say "npm install failed: $(tail -n 1 "$WORK/npm.log")"
	else
		say "npm is missing: newman and Step CI will be reported as skipped"
	fi
fi

# The HTTP target.
port_free 47090 || { say "127.0.0.1:47090 is already in use (another bench target?)"; exit 1; }
bash "$ROOT/bench/target.sh" up

# PostgreSQL and Redis, throwaway, for the slow-query case.
for p in "$PG_PORT" "$REDIS_PORT"; do
	port_free "$p" || { say "127.0.0.1:$p is already in use (set BENCH_PG_PORT / BENCH_REDIS_PORT)"; exit 1; }
done
mkdir -p "$WORK/pg" "$WORK/run"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg" "$WORK/run"
BENCH_PG_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export BENCH_PG_PASSWORD
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth-local=trust --auth-host=trust --no-sync -E UTF8 \
	>"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
# Password authentication over TCP for the read-only role allclear uses.
sed -i 's/^\(host.*\)trust$/\1scram-sha-256/' "$WORK/pg/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/run/pg.log" -w -t 30 \
	-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/run -c fsync=off" \
	start >/dev/null
as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$WORK/run" -p "$PG_PORT" -U postgres -d postgres \
	-c "CREATE ROLE allclear_ro LOGIN PASSWORD '$BENCH_PG_PASSWORD' IN ROLE pg_read_all_data" \
	-c "CREATE DATABASE bench" >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" --dir "$WORK"
for _ in $(seq 100); do
	redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
	sleep 0.1
done

export BENCH_WORK=$WORK BENCH_CACHE=$CACHE BENCH_PG_PORT=$PG_PORT BENCH_REDIS_PORT=$REDIS_PORT
export AC_BUILD_DIR=$BUILD
python3 "$ROOT/bench/bench.py" "$@" &
BENCH_PY=$!
rc=0
wait "$BENCH_PY" || rc=$?
BENCH_PY=
exit "$rc"
