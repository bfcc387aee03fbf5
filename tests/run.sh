#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs sluice's test tiers and prints one closing line:
#   N passed, N failed, N skipped
#   tests/run.sh [all|unit|prog|integration]
# Tier 1 (unit) needs nothing; tiers 2 (prog) and 3 (integration) need root
# and say SKIP with the reason when they cannot run. A skip is never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."

tier=${1:-all}
build=${BUILD:-build}
passed=0 failed=0 skipped=0
failures=()

# cmocka in TAP mode: "ok N - name", "not ok N - name", "ok N # SKIP".
run_cmocka() {
	local bin=$1 out line
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
	local rc=$?
	echo "$out" | sed 's/^/    /'
	local p f s
	# cmocka marks a skip "ok N # SKIP" or "not ok N # SKIP" by version.
	s=$(echo "$out" | grep -cE '^(not )?ok [0-9]+.*# (SKIP|skip)')
	p=$(echo "$out" | grep -E '^ok [0-9]+' | grep -cvE '# (SKIP|skip)')
	f=$(echo "$out" | grep -E '^not ok [0-9]+' | grep -cvE '# (SKIP|skip)')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or failed outside a test case
		echo "    $bin exited with $rc"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -eq 0 ] || failures+=("$bin")
}

run_cmocka_tier() {
	local dir=$1 name=$2 bin
	echo "== $name"
	for bin in "$build"/tests/test_*; do
		[ -x "$bin" ] || continue
		[ -e "tests/$dir/$(basename "$bin").c" ] || continue
		echo "  $(basename "$bin")"
		run_cmocka "$bin"
	done
}

run_prog_tier() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "== program tests: SKIP (BPF_PROG_TEST_RUN needs root)"
		skipped=$((skipped + 1))
		return
	fi
	run_cmocka_tier prog "program tests (BPF_PROG_TEST_RUN)"
}

run_integration_tier() {
	echo "== integration tests (network namespaces)"
	if [ "$(id -u)" -ne 0 ]; then
		echo "  SKIP: the lab needs root (namespaces, tc, bpffs)"
		skipped=$((skipped + 1))
		return
	fi
	local out rc
	# Debian's python3-pytest serves the system interpreter; another python3
	# earlier on PATH may not have it.
	out=$(/usr/bin/python3 -m pytest -v -rs -p no:cacheprovider tests/integration 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    /'
	local summary p f s e
	summary=$(echo "$out" | tail -1)
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
	f=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
	e=$(echo "$summary" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+' || echo 0)
	s=$(echo "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
	f=$((f + e))
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -eq 0 ] || failures+=("integration")
}

case $tier in
unit) run_cmocka_tier unit "unit tests" ;;
prog) run_prog_tier ;;
integration) run_integration_tier ;;
all)
	run_cmocka_tier unit "unit tests"
	run_prog_tier
	run_integration_tier
	;;
*) echo "usage: tests/run.sh [all|unit|prog|integration]" >&2; exit 2 ;;
esac

[ ${#failures[@]} -eq 0 ] || echo "failed in: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
