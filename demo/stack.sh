#!/bin/bash
# The demo stack on loopback: a throwaway PostgreSQL cluster, Redis, the
# shop (origin), its payment worker, and nginx as a caching edge on two
# ports (regions us and eu). It can ship the bad release, revert it, break
# single things for tests, and apply each recovery step.
#
#   demo/stack.sh up | down | status | env
#   demo/stack.sh release v42 | revert
#   demo/stack.sh fix flags|sessions|worker-pause|jobs|repair|worker-resume|search|cache|all
#   demo/stack.sh break edge-stale|flag-eu|sessions|search|retry-storm|bad-rows|partial-rollout
#   demo/stack.sh fix rollout
#
# State: AC_DEMO_STATE (default $TMPDIR/allclear-demo). Ports from
# AC_DEMO_PORT_BASE (default 27100): origin +1, edge-us +2, edge-eu +3,
# PostgreSQL +10, Redis +11. AC_DEMO_SHOP_SEED seeds the shop's random
# draws (the partial rollout); AC_DEMO_ROLLOUT_SHARE is the rollout's share
# of checkout requests at the origin, in percent (default 20).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${AC_DEMO_STATE:-${TMPDIR:-/tmp}/allclear-demo}
BASE=${AC_DEMO_PORT_BASE:-27100}
SHOP=${AC_DEMO_SHOP:-$ROOT/build/demo/allclear-demo-shop}
ORIGIN_PORT=$((BASE + 1))
EDGE_US_PORT=$((BASE + 2))
EDGE_EU_PORT=$((BASE + 3))
PG_PORT=$((BASE + 10))
REDIS_PORT=$((BASE + 11))
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
SHOP_DSN="host=127.0.0.1 port=$PG_PORT dbname=shop user=shop password=shop-secret connect_timeout=3"

say() { printf '  %s\n' "$*"; }
die() {
	echo "stack.sh: $*" >&2
	exit 1
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

wait_for() { # wait_for SECONDS WHAT COMMAND...
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "$what did not come up within ${secs}s (logs in $STATE)"
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
psql_shop() { PGPASSWORD=shop-secret psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U shop -d shop "$@"; }

start_bg() { # start_bg NAME COMMAND...: a background process with a pid file
	local name=$1
	shift
	# A session of its own: whoever called us (a test runner killing its
	# process group, a terminal closing) does not take the shop down.
	setsid "$@" >>"$STATE/$name.log" 2>&1 </dev/null &
	echo $! >"$STATE/$name.pid"
}

stop_pid() { # stop_pid NAME: TERM, wait up to 5 s, then KILL
	local f="$STATE/$1.pid" pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

start_origin() { # start_origin BUILD
	local seed=()
	if [ -n "${AC_DEMO_SHOP_SEED:-}" ]; then
		seed=(--seed "$AC_DEMO_SHOP_SEED")
	fi
	start_bg origin "$SHOP" --port "$ORIGIN_PORT" --pg "$SHOP_DSN" --redis "127.0.0.1:$REDIS_PORT" --build "$1" "${seed[@]}"
	wait_for 10 "the shop origin" curl -sf "http://127.0.0.1:$ORIGIN_PORT/healthz"
}

start_worker() {
	start_bg worker "$SHOP" --worker --pg "$SHOP_DSN" --redis "127.0.0.1:$REDIS_PORT" --build v41
}

nginx_conf() {
	local user_line=""
	if [ "$(id -u)" = 0 ]; then
		user_line="user root;"
	fi
	mkdir -p "$STATE/nginx/tmp" "$STATE/nginx/cache-us" "$STATE/nginx/cache-eu"
	cat >"$STATE/nginx/nginx.conf" <<NG
$user_line
pid $STATE/nginx/nginx.pid;
error_log $STATE/nginx/error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $STATE/nginx/tmp; proxy_temp_path $STATE/nginx/tmp;
  fastcgi_temp_path $STATE/nginx/tmp; uwsgi_temp_path $STATE/nginx/tmp; scgi_temp_path $STATE/nginx/tmp;
  proxy_cache_path $STATE/nginx/cache-us keys_zone=us:1m max_size=64m;
  proxy_cache_path $STATE/nginx/cache-eu keys_zone=eu:1m max_size=64m;
$(for region in us eu; do
	port=$EDGE_US_PORT
	[ $region = eu ] && port=$EDGE_EU_PORT
	cat <<SRV
  server {
    listen 127.0.0.1:$port;
    proxy_set_header X-Region $region;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    add_header X-Cache-Status \$upstream_cache_status always;
    add_header X-Edge $region always;
    # Pages and products are cached at the edge for an hour, as the CDN
    # of a real shop would; everything personal passes through.
    location ~ ^/(checkout\$|products/|\$) {
      proxy_cache $region;
      proxy_cache_valid 200 1h;
      proxy_ignore_headers Set-Cookie;
      proxy_pass http://127.0.0.1:$ORIGIN_PORT;
    }
    # Everything else is fetched fresh every time and says so
    # (X-Cache-Status BYPASS), as a CDN marks what it does not cache.
    location / {
      proxy_cache $region;
      proxy_cache_bypass 1;
      proxy_no_cache 1;
      proxy_pass http://127.0.0.1:$ORIGIN_PORT;
    }
  }
SRV
done)
}
NG
}

start_nginx() {
	nginx_conf
	nginx -c "$STATE/nginx/nginx.conf" -e "$STATE/nginx/error.log"
	wait_for 10 "the edge (us)" curl -sf "http://127.0.0.1:$EDGE_US_PORT/healthz"
	wait_for 10 "the edge (eu)" curl -sf "http://127.0.0.1:$EDGE_EU_PORT/healthz"
}

stop_nginx() {
	if [ -f "$STATE/nginx/nginx.pid" ]; then
		nginx -c "$STATE/nginx/nginx.conf" -e "$STATE/nginx/error.log" -s stop 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			[ -f "$STATE/nginx/nginx.pid" ] || break
			sleep 0.1
		done
	fi
}

purge_edges() {
	stop_nginx
	rm -rf "$STATE/nginx/cache-us" "$STATE/nginx/cache-eu"
	start_nginx
}

cmd_up() {
	[ -x "$SHOP" ] || die "no shop binary at $SHOP (build first: meson setup build && ninja -C build)"
	[ -n "$PGBIN" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
	if [ -e "$STATE/pg/PG_VERSION" ]; then
		die "already up in $STATE (run: $0 down)"
	fi
	local p
	for p in "$ORIGIN_PORT" "$EDGE_US_PORT" "$EDGE_EU_PORT" "$PG_PORT" "$REDIS_PORT"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			die "port $p is in use (set AC_DEMO_PORT_BASE to move the stack)"
		fi
	done
	# A failure halfway stops whatever did start.
	trap 'cmd_down >/dev/null 2>&1' EXIT
	mkdir -p "$STATE/pg" "$STATE/run"
	chmod 755 "$STATE"
	if [ "$(id -u)" = 0 ]; then
		chown postgres:postgres "$STATE/pg" "$STATE/run"
	fi
	as_pg "$PGBIN/initdb" -D "$STATE/pg" -U postgres -A trust --no-sync -E UTF8 >"$STATE/initdb.log" 2>&1 ||
		die "initdb failed: $(tail -n 3 "$STATE/initdb.log")"
	as_pg "$PGBIN/pg_ctl" -D "$STATE/pg" -l "$STATE/run/pg.log" -w -t 30 \
		-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$STATE/run -c fsync=off" \
		start >/dev/null || die "PostgreSQL did not start: $(tail -n 3 "$STATE/run/pg.log")"
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null <<SQL
CREATE ROLE shop LOGIN PASSWORD 'shop-secret';
CREATE ROLE allclear_ro LOGIN PASSWORD 'ro-secret' IN ROLE pg_read_all_data;
CREATE DATABASE shop OWNER shop;
SQL
	psql_shop -f "$ROOT/demo/schema.sql" >/dev/null
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
		--pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --dir "$STATE" >/dev/null
	wait_for 10 "Redis" rcli ping
	start_origin v41
	start_worker
	start_nginx
	trap - EXIT
	say "up: origin :$ORIGIN_PORT, edge-us :$EDGE_US_PORT, edge-eu :$EDGE_EU_PORT, PostgreSQL :$PG_PORT, Redis :$REDIS_PORT"
}

cmd_down() {
	stop_nginx
	stop_pid worker
	stop_pid origin
	if [ -f "$STATE/redis.pid" ]; then
		local pid
		pid=$(cat "$STATE/redis.pid")
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ -e "$STATE/pg/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$STATE/pg" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$STATE"
}

login_sid() { # a session id for alice, from the shop itself
	curl -sf -c - -d user=alice -d password=wonderland "http://127.0.0.1:$ORIGIN_PORT/login" |
		awk '$6 == "sid" {print $7}'
}

place_orders() { # place_orders N
	local sid
	sid=$(login_sid)
	[ -n "$sid" ] || die "cannot log in to place orders"
	for ((i = 0; i < $1; i++)); do
		curl -sf -b "sid=$sid" -H 'Content-Type: application/json' -d '{"product_id":12,"qty":1}' \
			"http://127.0.0.1:$ORIGIN_PORT/orders" >/dev/null
	done
}

warm() { # warm PORT PATH...: have an edge cache these pages now
	local port=$1
	shift
	for p in "$@"; do
		curl -sf -o /dev/null "http://127.0.0.1:$port$p"
	done
}

enqueue() { # enqueue ORDER_ID: a payment job in Sidekiq's layout
	local now
	now=$(date +%s.%N)
	rcli SADD queues payments >/dev/null
	rcli LPUSH queue:payments "{\"class\":\"PaymentJob\",\"queue\":\"payments\",\"args\":[$1],\"jid\":\"$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')\",\"created_at\":$now,\"enqueued_at\":$now,\"retry\":true}" >/dev/null
}

cmd_release() {
	[ "${1:-}" = v42 ] || die "usage: $0 release v42"
	say "deploy build v42 to the origin (new checkout flow, new session format, new payment path)"
	stop_pid origin
	start_origin v42
	rcli SET shop:config:session_format v2 >/dev/null
	rcli SET shop:config:payment_mode v42 >/dev/null
	say "turn the new_checkout flag on in every region"
	for r in origin us eu; do rcli SET "shop:flags:$r:new_checkout" 1 >/dev/null; done
	say "the deploy purges the edge caches, and the edges cache the new pages (for an hour)"
	purge_edges
	warm "$EDGE_US_PORT" / /checkout
	warm "$EDGE_EU_PORT" / /checkout
	say "the new catalogue job removes two products but the search index keeps them"
	psql_shop -c "DELETE FROM products WHERE id IN (38, 40)" >/dev/null
	say "customers place orders; the new payment path starts writing damage"
	place_orders 3
	sleep 2
}

cmd_revert() {
	say "revert the origin to build v41 (only the code: nothing else)"
	stop_pid origin
	start_origin v41
}

cmd_fix() {
	case "${1:-}" in
	flags)
		say "flags: turn new_checkout off in every region"
		for r in origin us eu; do rcli SET "shop:flags:$r:new_checkout" 0 >/dev/null; done
		;;
	sessions)
		say "config: session format back to v1; drop the sessions v42 wrote"
		rcli SET shop:config:session_format v1 >/dev/null
		local n=0 k
		while read -r k; do
			[ -n "$k" ] || continue
			if rcli GET "$k" | grep -q '^v2|'; then
				rcli DEL "$k" >/dev/null
				n=$((n + 1))
			fi
		done < <(rcli --scan --pattern 'shop:session:*')
		say "  $n v2 sessions removed"
		;;
	worker-pause)
		say "jobs: pause the payment worker"
		stop_pid worker
		;;
	jobs)
		say "jobs: payment path back to v41; inspect and drain retries and dead jobs"
		rcli SET shop:config:payment_mode v41 >/dev/null
		local retry dead
		retry=$(rcli ZCARD retry)
		dead=$(rcli ZCARD dead)
		say "  retrying: $retry, dead: $dead, ready: $(rcli LLEN queue:payments)"
		# Each job names an order; the repair step re-enqueues what still needs
		# paying, so the replayed copies are dropped here.
		rcli DEL retry dead >/dev/null
		rcli DEL queue:payments >/dev/null
		;;
	repair)
		say "data: run the repair script (paid-without-payment back to pending, duplicate holds removed)"
		local id n=0
		while read -r id; do
			[ -n "$id" ] || continue
			enqueue "$id"
			n=$((n + 1))
		done < <(psql_shop -At -f "$ROOT/demo/repair.sql")
		say "  $n pending orders queued for payment again"
		;;
	worker-resume)
		say "jobs: resume the payment worker"
		[ -f "$STATE/worker.pid" ] || start_worker
		local i
		for ((i = 0; i < 100; i++)); do
			[ "$(rcli LLEN queue:payments)" = 0 ] && break
			sleep 0.1
		done
		;;
	search)
		say "data: rebuild the search index from the products that exist"
		psql_shop -c "DELETE FROM search_index s WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = s.product_id)" >/dev/null
		;;
	cache)
		say "cache: purge both edge caches"
		purge_edges
		;;
	rollout)
		say "flags: end the partial rollout of the new checkout at the origin"
		rcli DEL shop:rollout:origin:new_checkout >/dev/null
		;;
	all)
		for s in flags sessions worker-pause jobs repair worker-resume search cache; do cmd_fix "$s"; done
		;;
	*) die "usage: $0 fix flags|sessions|worker-pause|jobs|repair|worker-resume|search|cache|rollout|all" ;;
	esac
}

cmd_break() {
	case "${1:-}" in
	edge-stale)
		say "only edge-eu caches the v42 checkout page"
		purge_edges
		stop_pid origin
		start_origin v42
		warm "$EDGE_EU_PORT" /checkout
		stop_pid origin
		start_origin v41
		;;
	flag-eu) rcli SET shop:flags:eu:new_checkout 1 >/dev/null ;;
	sessions) rcli SET shop:config:session_format v2 >/dev/null ;;
	search) psql_shop -c "DELETE FROM products WHERE id IN (38, 40)" >/dev/null ;;
	retry-storm)
		rcli SET shop:config:payment_mode v42 >/dev/null
		place_orders 2
		;;
	partial-rollout)
		# The flag reads off everywhere; a share of checkout requests at the
		# origin still takes the new flow.
		rcli SET shop:rollout:origin:new_checkout "${AC_DEMO_ROLLOUT_SHARE:-20}" >/dev/null
		;;
	bad-rows)
		psql_shop >/dev/null <<SQL
INSERT INTO orders (user_name, product_id, qty, status, payment_format) VALUES ('bob', 11, 1, 'paid', 'v42');
INSERT INTO discount_holds (order_id, code) SELECT currval('orders_id_seq'), 'NEW10' FROM generate_series(1, 2);
SQL
		;;
	*) die "usage: $0 break edge-stale|flag-eu|sessions|search|retry-storm|bad-rows|partial-rollout" ;;
	esac
}

cmd_env() {
	echo "export AC_DEMO_ORIGIN=http://127.0.0.1:$ORIGIN_PORT"
	echo "export AC_DEMO_EDGE_US=http://127.0.0.1:$EDGE_US_PORT"
	echo "export AC_DEMO_EDGE_EU=http://127.0.0.1:$EDGE_EU_PORT"
	echo "export AC_DEMO_PG_PORT=$PG_PORT"
	echo "export AC_DEMO_PG_DSN='host=127.0.0.1 port=$PG_PORT dbname=shop user=allclear_ro'"
	echo "export AC_DEMO_PG_PASSWORD=ro-secret"
	echo "export AC_DEMO_REDIS=127.0.0.1:$REDIS_PORT"
	echo "export AC_DEMO_REDIS_PORT=$REDIS_PORT"
	echo "export AC_DEMO_SHOP_PASSWORD=wonderland"
}

cmd_status() {
	for n in origin worker; do
		if [ -f "$STATE/$n.pid" ] && kill -0 "$(cat "$STATE/$n.pid")" 2>/dev/null; then
			say "$n: running"
		else
			say "$n: stopped"
		fi
	done
	rcli ping >/dev/null 2>&1 && say "redis: running" || say "redis: stopped"
	[ -e "$STATE/pg/postmaster.pid" ] && say "postgres: running" || say "postgres: stopped"
	[ -f "$STATE/nginx/nginx.pid" ] && say "edges: running" || say "edges: stopped"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
release) cmd_release "${2:-}" ;;
revert) cmd_revert ;;
fix) cmd_fix "${2:-}" ;;
break) cmd_break "${2:-}" ;;
env) cmd_env ;;
status) cmd_status ;;
*)
	echo "usage: $0 up|down|status|env|release v42|revert|fix STEP|break STATE" >&2
	exit 3
	;;
esac
