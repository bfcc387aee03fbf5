#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make bench`: runs sluice's benchmark cases and writes
# bench-results/results.md (the table) and bench-results/raw/ (the data).
# A benchmark, not a test: it reports each target as met or not met and
# exits 0 unless a case could not run at all.
#
#   tools/bench.sh [CASE...]    cases: cost throughput rate scale (default: all)
#
# docs/BENCHMARKS.md says what each case measures and why.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD
export RESULTS=${RESULTS:-$ROOT/bench-results}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(cost throughput rate scale)

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF programs, namespaces, cgroups)" >&2
	exit 1
fi

# Only what a previous run wrote: RESULTS may be any directory.
rm -rf -- "$RESULTS/raw" "$RESULTS"/summary-*.tsv "$RESULTS"/detail-*.md "$RESULTS/results.md"
mkdir -p "$RESULTS/raw"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
failed=0

for c in "${cases[@]}"; do
	echo "bench: case $c"
	t0=$SECONDS
	if ! tools/bench/case_"$c".sh 2>&1 | tee "$RESULTS/raw/case-$c.log"; then
		failed=1
		printf '%s\tnot run\t-\t-\t-\tsee raw/case-%s.log\n' "$c" "$c" \
			>"$RESULTS/summary-$c.tsv"
		rm -f "$RESULTS/detail-$c.md"
	fi
	echo "bench: case $c took $((SECONDS - t0)) s"
done

md_rows() {
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$@"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit (with uncommitted changes)"
{
	echo "# sluice benchmark results"
	echo
	echo "- date: $started"
	echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "- congestion control: cubic for every flow (iperf3 -C cubic); the machine's default is $(sysctl -n net.ipv4.tcp_congestion_control)"
	echo "- load average: $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (other work on the machine adds noise)"
	echo "- sluice: $commit; $(iperf3 --version | head -n1 | cut -d' ' -f1-2)"
	echo
	echo "| case | sluice | baseline | ratio / difference | target | met? |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for c in "${cases[@]}"; do
		[ ! -s "$RESULTS/summary-$c.tsv" ] || md_rows "$RESULTS/summary-$c.tsv"
	done
	echo
	for c in "${cases[@]}"; do
		[ ! -s "$RESULTS/detail-$c.md" ] || { cat "$RESULTS/detail-$c.md"; echo; }
	done
	echo "Raw data: raw/ beside this file. How each case works: docs/BENCHMARKS.md."
} >"$RESULTS/results.md"

echo "bench: wrote $RESULTS/results.md"
exit "$failed"
