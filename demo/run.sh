#!/bin/bash
# The demo story, end to end: install what is missing, build, start the demo
# shop on loopback, ship a bad release, revert it, and watch allclear say
# NOT RESTORED until the remaining recovery steps are done, then RESTORED.
# Everything it starts is stopped on the way out, also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${AC_BUILD_DIR:-build}
STACK="$ROOT/demo/stack.sh"
SCENARIO="$ROOT/scenarios/demo.json"
BASE=${AC_DEMO_PORT_BASE:-27100}
export AC_DEMO_PORT_BASE=$BASE
export AC_DEMO_SHOP="$ROOT/$BUILD/demo/allclear-demo-shop"

bold=$'\033[1m'
reset=$'\033[0m'
if [ ! -t 1 ] || [ -n "${NO_COLOR:-}" ]; then
	bold=
	reset=
fi

say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }

cleanup() {
	say "Stopping the demo stack (nothing is left running)"
	"$STACK" down || true
}

say "Installing what is missing (Debian packages)"
AC_DEPS_ALL=0 "$ROOT/.ci/deps.sh"

say "Building allclear and the demo shop with meson"
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD" >/dev/null
ALLCLEAR="$ROOT/$BUILD/allclear"

trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the demo stack: PostgreSQL, Redis, the shop (build v41), its payment worker, and an nginx edge cache as edge-us and edge-eu"
"$STACK" up
# shellcheck disable=SC1090
source <("$STACK" env)
export SHOP_PASSWORD=$AC_DEMO_SHOP_PASSWORD
export ALLCLEAR_DB_PASSWORD=$AC_DEMO_PG_PASSWORD

vars=(--var "origin=$AC_DEMO_ORIGIN" --var "edge_us=$AC_DEMO_EDGE_US" --var "edge_eu=$AC_DEMO_EDGE_EU"
	--var "pg_port=$((BASE + 10))" --var "redis_port=$((BASE + 11))")

check() { # check EXPECTED-EXIT: run allclear and show its report
	local want=$1 rc=0
	"$ALLCLEAR" check "$SCENARIO" "${vars[@]}" --no-color --json "${AC_DEMO_STATE:-${TMPDIR:-/tmp}/allclear-demo}.report.json" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "demo: allclear exited $rc, the story expected $want" >&2
		exit 1
	fi
}

steps() { # a quick check that shows only its Next steps: what is done, what is left
	local out rc=0
	out=$("$ALLCLEAR" check "$SCENARIO" "${vars[@]}" --no-color --rounds 2 --interval 300ms 2>/dev/null) || rc=$?
	if [ "$rc" = 3 ]; then
		echo "demo: allclear refused the scenario" >&2
		exit 1
	fi
	printf '%s\n' "$out" | sed -n '/^Next steps/,/^$/p' | grep -E '^(Next steps| +[0-9]+\. )' || true
}

say "The release map of v42, written before the deploy: every part, its undo, owner and backup, in recovery order (allclear map)"
"$ALLCLEAR" map "$SCENARIO" "${vars[@]}"

say "Before the release: is everything fine? (allclear should say RESTORED: there is nothing to restore)"
check 0

say "A bad release ships: build v42 with a new checkout flow, a new session format, a new payment path, and the new_checkout flag on"
"$STACK" release v42

say "The code is reverted to v41. Is service restored? allclear should say NOT RESTORED, and list the next steps in the map's order"
"$STACK" revert
check 1

say "Recovery, in the release map's order (the Next steps above); allclear checks each part off as it is done"
say "1. flags-off"
"$STACK" fix flags
steps
say "2. session-format"
"$STACK" fix sessions
steps
say "3. payment-path: pause the worker first, then the payment path and the retry storm"
"$STACK" fix worker-pause
"$STACK" fix jobs
steps
say "4. payment-data: the repair"
"$STACK" fix repair
steps
say "5. payments-resume"
"$STACK" fix worker-resume
steps
say "6. search-index"
"$STACK" fix search
steps
say "8. edge-cache (7, the code revert, is done already)"
"$STACK" fix cache

say "Is service restored now? allclear should say RESTORED"
check 0

say "A partial rollout survives a revert: the flag reads off, and 20% of checkout requests at the origin still take the new flow"
"$STACK" break partial-rollout
rollout() { # rollout EXPECTED-EXIT: the rollout scenario (detect_share 5%)
	local want=$1 rc=0
	"$ALLCLEAR" check "$ROOT/scenarios/demo-rollout.json" --var "origin=$AC_DEMO_ORIGIN" --no-color || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "demo: allclear exited $rc, the story expected $want" >&2
		exit 1
	fi
}
say "With detect_share 5%, allclear runs the checkout 60 times and reports the share it saw: NOT RESTORED"
rollout 1
"$STACK" fix rollout
say "The rollout is ended. allclear says RESTORED and how sure it is"
rollout 0

say "The story is told: the revert alone was not enough; allclear said what was left and who owned it."
