#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Case 1: per-packet cost of the TC egress program with 1, 10^3 and 10^6
# destinations, beside an empty TC program, through BPF_PROG_TEST_RUN
# (build/tools/prog_cost). Writes summary-cost.tsv, detail-cost.md and the
# raw runs in raw/prog_cost.tsv under the results directory.
set -euo pipefail
# shellcheck source=tools/bench/common.sh
source "$(dirname "$0")/common.sh"
BENCH_TAG=cost
REPEAT=${REPEAT:-2000000}
ROUNDS=${ROUNDS:-7}
TARGET_NS=25

mkdir -p "$RESULTS/raw"
out=$RESULTS/raw/prog_cost-summary.tsv
"$BUILD/tools/prog_cost" -r "$REPEAT" -n "$ROUNDS" -o "$RESULTS/raw/prog_cost.tsv" >"$out"

# columns: case dests median_ns min_ns max_ns kernel_ns valid
empty=$(awk -F'\t' '$1 == "empty" { print $3 }' "$out")
kempty=$(awk -F'\t' '$1 == "empty" { print $6 }' "$out")
awk -F'\t' -v e="$empty" -v ke="$kempty" -v t="$TARGET_NS" '
$1 == "empty" || $1 == "clock" { next }
{
	d = $3 - e
	name = $1 == "sluice" ? sprintf("1. TC program, %d destination%s", $2, $2 == 1 ? "" : "s") \
			      : sprintf("1. TC program, no matching policy (%d in table)", $2)
	target = ($1 == "sluice" && $2 == 1000000) ? "<= " t " ns above empty" : "(none)"
	met = target == "(none)" ? "-" : (d <= t ? "met" : "not met")
	if ($7 != "yes")
		met = "invalid run"
	printf "%s\t%.1f ns/pkt\t%.1f ns/pkt (empty)\t+%.1f ns\t%s\t%s\n", name, $3, e, d, target, met
}' "$out" >"$RESULTS/summary-cost.tsv"

{
	echo "### Case 1: per-packet cost (BPF_PROG_TEST_RUN, repeat $REPEAT, median of $ROUNDS rounds)"
	echo
	echo "| program | destinations | median ns/pkt | min | max | above empty | kernel run_time_ns/run_cnt | above empty (kernel) | fast path checked |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' -v e="$empty" -v ke="$kempty" '{
		kd = ($6 < 0 || ke < 0) ? "n/a" : sprintf("%+.1f", $6 - ke)
		printf "| %s | %s | %.1f | %s | %s | %+.1f | %s | %s | %s |\n", $1, $2 == 0 ? "-" : $2,
		       $3, $4, $5, $3 - e, $6 < 0 ? "n/a" : sprintf("%.1f", $6), kd, $7
	}' "$out"
	echo
	echo "clock is the empty program with one bpf_ktime_get_ns() call before it: the"
	echo "price of the clock read that the datapath makes for each packet, here."
	echo "Kernel figures include the cost of the two clock reads that BPF statistics add"
	echo "around each run; compare them with the empty program's, not with zero."
} >"$RESULTS/detail-cost.md"
