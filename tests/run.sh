#!/bin/bash
# The test command: install what is missing, build twice (plain, and with
# ASan+UBSan), start real PostgreSQL and Redis servers on loopback, run
# every suite under both builds, stop the servers, and end with one line
# "N passed, N failed" counting test cases.
#
#   tests/run.sh           everything (what CI runs)
#   tests/run.sh --quick   the plain build only
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
QUICK=0
if [ "${1:-}" = "--quick" ]; then
	QUICK=1
fi

"$ROOT/.ci/deps.sh"
bash "$ROOT/tests/lint.sh"

builds=(build)
if [ $QUICK = 0 ]; then
	builds+=(build-asan)
fi
for b in "${builds[@]}"; do
	if [ ! -f "$b/build.ninja" ]; then
		if [ "$b" = build-asan ]; then
			meson setup "$b" -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
		else
			meson setup "$b" -Dtests=enabled >/dev/null
		fi
	fi
	ninja -C "$b" >/dev/null
done

# The real JavaScript job libraries (BullMQ, bee-queue, pg-boss, graphile-worker) the preset tests
# drive, from the npm registry, into the build directory (not committed).
NODE_DIR="$ROOT/build/node-fixtures"
if ! cmp -s "$ROOT/tests/fixtures/package.json" "$NODE_DIR/package.json" || [ ! -d "$NODE_DIR/node_modules" ]; then
	mkdir -p "$NODE_DIR"
	cp "$ROOT/tests/fixtures/package.json" "$NODE_DIR/"
	(cd "$NODE_DIR" && npm install --silent --no-audit --no-fund >/dev/null)
fi
export AC_TEST_NODE_MODULES="$NODE_DIR/node_modules"

export AC_TEST_PORT_BASE=${AC_TEST_PORT_BASE:-47300}
export AC_TEST_STATE=${AC_TEST_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/allclear-tests-XXXXXX")}
chmod 755 "$AC_TEST_STATE"
stop_servers() { bash "$ROOT/tests/servers.sh" stop >/dev/null 2>&1 || true; }
trap stop_servers EXIT
trap 'exit 130' INT TERM
bash "$ROOT/tests/servers.sh" start
eval "$(bash "$ROOT/tests/servers.sh" env)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export CK_VERBOSITY=normal

status=0
for b in "${builds[@]}"; do
	echo "== $b"
	if ! meson test -C "$b" --print-errorlogs --num-processes 1; then
		status=1
	fi
done

# Count test cases from Check's summary lines in meson's logs.
passed=0
failed=0
for b in "${builds[@]}"; do
	log="$b/meson-logs/testlog.txt"
	[ -f "$log" ] || continue
	while read -r checks failures errors; do
		passed=$((passed + checks - failures - errors))
		failed=$((failed + failures + errors))
	done < <(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$log")
	# A suite that crashed before Check could summarise counts as one failure.
	n_fail=$(grep -cE '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT) ' "$b/meson-logs/testlog.txt" 2>/dev/null || true)
	if [ "$status" != 0 ] && [ "$failed" = 0 ]; then
		failed=$((failed + ${n_fail:-1}))
	fi
done
echo "$passed passed, $failed failed"
if [ "$status" != 0 ] || [ "$failed" != 0 ]; then
	exit 1
fi
