#!/bin/bash
# Benchmarks: allclear against the fixed-response nginx target of the peer
# benchmarks (bench/target.sh), the same 4-step journey (log in, cart total,
# search and capture, product).
#
#   bench/run.sh            allclear only
#   bench/run.sh --peers    also newman (npm) and the curl command line
#
# Figures: wall time, CPU time (user+system) and peak RSS of whole processes,
# median of 5 runs after a warm-up. Compare ratios from one run: the
# machines are shared and noisy.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${AC_BUILD_DIR:-$ROOT/build}
AC=$BUILD/allclear
export BENCH_STATE=${BENCH_STATE:-${TMPDIR:-/tmp}/allclear-bench-target}
WORK=$(mktemp -d)
trap 'bash "$ROOT/bench/target.sh" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

[ -x "$AC" ] || { meson setup "$BUILD" >/dev/null && ninja -C "$BUILD" >/dev/null; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 3; }
bash "$ROOT/bench/target.sh" up

# measure LABEL CMD...: median wall, cpu, max rss of 5 runs after a warm-up
measure() {
	local label=$1
	shift
	"$@" >/dev/null 2>&1 || true
	: >"$WORK/runs"
	for _ in 1 2 3 4 5; do
		/usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" >/dev/null 2>&1 || true
		tail -n 1 "$WORK/t" >>"$WORK/runs"
	done
	local wall cpu rss
	wall=$(awk '{print $1}' "$WORK/runs" | sort -n | sed -n 3p)
	cpu=$(awk '{print $2 + $3}' "$WORK/runs" | sort -n | sed -n 3p)
	rss=$(awk '{print $4}' "$WORK/runs" | sort -n | sed -n 3p)
	awk -v l="$label" -v w="$wall" -v c="$cpu" -v m="$rss" \
		'BEGIN {printf "| %s | %.2f s | %.2f s | %.1f MiB |\n", l, w, c, m / 1024}'
}

# The same journey 200 times: in sequence (200 rounds of one journey, each
# run with a fresh cookie jar), and as 200 journeys in one round.
python3 - "$ROOT/bench/journey.json" "$WORK/many.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
j = s["journeys"][0]
s["journeys"] = [dict(j, name="journey %d" % i) for i in range(200)]
s["settings"]["concurrency"] = 64
json.dump(s, open(sys.argv[2], "w"))
PY

echo "| what | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "allclear, 200 journeys in sequence (800 requests)" "$AC" check "$ROOT/bench/journey.json" --rounds 200 --interval 0 --confirm 1 -q
measure "allclear, 200 journeys at once, 64 in flight" "$AC" check "$WORK/many.json" --confirm 1 -q
measure "allclear, 1 journey" "$AC" check "$ROOT/bench/journey.json" -q

if [ "${1:-}" = "--peers" ]; then
	cat >"$WORK/curl.sh" <<'SH'
for i in $(seq 200); do
	c=$(mktemp)
	curl -s -c "$c" -b "$c" -X POST -H 'Content-Type: application/json' -d '{"user":"alice","password":"alice-pw"}' http://127.0.0.1:47090/login >/dev/null
	curl -s -b "$c" http://127.0.0.1:47090/cart/total >/dev/null
	curl -s http://127.0.0.1:47090/search?q=teapot >/dev/null
	curl -s http://127.0.0.1:47090/products/10 >/dev/null
	rm -f "$c"
done
SH
	measure "curl command line, 200 journeys as 800 processes" bash "$WORK/curl.sh"
	if command -v npm >/dev/null; then
		(cd "$WORK" && npm install --silent --no-audit --no-fund newman >/dev/null 2>&1) || true
		if [ -x "$WORK/node_modules/.bin/newman" ]; then
			measure "newman, 200 journeys in sequence" "$WORK/node_modules/.bin/newman" run /work/shared/bench/journey.postman.json -n 200
		fi
	fi
fi
