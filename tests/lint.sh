#!/bin/bash
# Style checks that a compiler does not make: the banned footguns (curl's
# and git's list) and clang-format as the arbiter of layout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
files=$(git ls-files 'src/*.c' 'src/*.h' 'probes/*.c' 'probes/*.h' 'report/*.c' 'report/*.h' \
	'demo/*.c' 'tests/*.c' 'tests/*.h' 'tests/fuzz/*.c' 2>/dev/null || true)
if [ -z "$files" ]; then
	files=$(ls src/*.[ch] probes/*.[ch] report/*.[ch] demo/*.c tests/*.[ch] tests/fuzz/*.c)
fi
# shellcheck disable=SC2086
if grep -nE '(^|[^a-z_])(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\(' $files | grep -vE 'snprintf|vsnprintf'; then
	echo "lint: banned function (use snprintf, ac_buf, ac_asprintf, ac_parse_long)" >&2
	status=1
fi
# Writers are pure functions of the result tree (report/report.h): report/
# includes the tree, the generic helpers and its own headers, never the
# plan, the probes or the mask.
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' report/*.[ch] |
	grep -vE '#[[:space:]]*include[[:space:]]*"(result|util|report|live)\.h"'; then
	echo "lint: report/ includes only result.h, util.h, report.h and live.h" >&2
	status=1
fi
# The format check is part of the test: a machine without clang-format fails
# it rather than skipping it (.ci/deps.sh installs it).
if ! command -v clang-format >/dev/null; then
	echo "lint: clang-format is missing (run .ci/deps.sh)" >&2
	status=1
else
	# shellcheck disable=SC2086
	if ! clang-format --dry-run --Werror $files 2>/dev/null; then
		echo "lint: not formatted as .clang-format says (run: clang-format -i FILES)" >&2
		status=1
	fi
fi
exit $status
