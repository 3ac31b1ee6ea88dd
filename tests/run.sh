#!/bin/bash
# The test command: install what is missing, check style, build with gcc
# (plain, and with ASan+UBSan) and clang (warnings as errors, and the
# libFuzzer harnesses), start real PostgreSQL and Redis servers on loopback,
# run every suite under both gcc builds and the pure suites under clang,
# run each fuzzer for AC_FUZZ_SECONDS (30) from its committed corpus, stop
# the servers, and end with one line "N passed, N failed" counting test
# cases.
#
#   tests/run.sh           everything (what CI runs)
#   tests/run.sh --quick   the plain gcc build only
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
# clang, warnings as errors, and the libFuzzer harnesses (clang + ASan).
if [ $QUICK = 0 ]; then
	if [ ! -f build-clang/build.ninja ]; then
		CC=clang meson setup build-clang -Dtests=enabled >/dev/null
	fi
	ninja -C build-clang >/dev/null
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dtests=disabled -Ddemo=disabled -Dfuzzers=true \
			-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	fi
	ninja -C build-fuzz >/dev/null
fi

# The real JavaScript job libraries (BullMQ, bee-queue, pg-boss, graphile-worker) the preset tests
# drive, from the npm registry, into the build directory (not committed).
NODE_DIR="$ROOT/build/node-fixtures"
if ! cmp -s "$ROOT/tests/fixtures/package.json" "$NODE_DIR/package.json" || [ ! -d "$NODE_DIR/node_modules" ]; then
	mkdir -p "$NODE_DIR"
	cp "$ROOT/tests/fixtures/package.json" "$NODE_DIR/"
	(cd "$NODE_DIR" && npm install --silent --no-audit --no-fund >/dev/null)
fi
export AC_TEST_NODE_MODULES="$NODE_DIR/node_modules"

# Fixed ports sit below the kernel's ephemeral range (32768-60999), where
# the hostile test servers' OS-assigned ports and client sockets live.
export AC_TEST_PORT_BASE=${AC_TEST_PORT_BASE:-27300}
export AC_TEST_DEMO_PORT_BASE=${AC_TEST_DEMO_PORT_BASE:-27500}
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
suite_status=$status
fuzz_failed=0
if [ $QUICK = 0 ]; then
	# The pure suites once more under clang's code generation.
	echo "== build-clang"
	if ! meson test -C build-clang --print-errorlogs --num-processes 1 engine core fields verdict; then
		status=1
		suite_status=1
	fi
	builds+=(build-clang)
	# Every fuzzer for a bounded time from its committed corpus (copied, so
	# the tree does not grow). A crash fails the run and counts as a failure.
	echo "== fuzzers (${AC_FUZZ_SECONDS:=30} s each)"
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		work="$AC_TEST_STATE/fuzz-$name"
		mkdir -p "$work/corpus"
		cp -r "$ROOT/tests/fuzz/corpus/$name/." "$work/corpus/" 2>/dev/null || true
		if (cd "$work" && "$ROOT/$f" -max_total_time="$AC_FUZZ_SECONDS" -rss_limit_mb=2048 \
			-timeout=10 -print_final_stats=1 corpus >"$work/log" 2>&1); then
			echo "$name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$') runs, no crash"
		else
			echo "$name: FAILED" >&2
			tail -n 40 "$work/log" >&2
			fuzz_failed=$((fuzz_failed + 1))
		fi
	done
fi

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
	if [ "$suite_status" != 0 ] && [ "$failed" = 0 ]; then
		failed=$((failed + ${n_fail:-1}))
	fi
done
failed=$((failed + fuzz_failed))
[ "$fuzz_failed" = 0 ] || status=1
echo "$passed passed, $failed failed"
if [ "$status" != 0 ] || [ "$failed" != 0 ]; then
	exit 1
fi
