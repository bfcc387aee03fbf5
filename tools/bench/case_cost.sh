#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Case 1: per-packet cost of the TC egress program through BPF_PROG_TEST_RUN
# (build/tools/prog_cost), each figure beside the empty program run in the
# same shape in the same run: 1, 10^3 and 10^6 destinations without a
# departure time (the program reads the clock), TCP with one, traffic no
# policy covers, and 10^4 destinations active at once. Writes
# summary-cost.tsv, detail-cost.md and the raw runs in raw/prog_cost.tsv
# under the results directory.
set -euo pipefail
# shellcheck source=tools/bench/common.sh
source "$(dirname "$0")/common.sh"
BENCH_TAG=cost
REPEAT=${REPEAT:-2000000}
ROUNDS=${ROUNDS:-7}
CYCLE=${CYCLE:-10000}
TARGET_TCP_NS=25
TARGET_UNMATCHED_NS=10

mkdir -p "$RESULTS/raw"
out=$RESULTS/raw/prog_cost-summary.tsv
"$BUILD/tools/prog_cost" -r "$REPEAT" -n "$ROUNDS" -c "$CYCLE" \
	-o "$RESULTS/raw/prog_cost.tsv" >"$out"

# columns: case dests median_ns min_ns max_ns kernel_ns valid base above_ns kernel_above_ns
awk -F'\t' -v tt="$TARGET_TCP_NS" -v tu="$TARGET_UNMATCHED_NS" '
{ med[$1] = $3 }
$1 == "empty" || $1 == "clock" || $1 ~ /^empty-/ { next }
{
	plural = $2 == 1 ? "" : "s"
	target = "(none)"
	if ($1 == "sluice") {
		name = sprintf("1. TC program, %d destination%s, no departure time (reads the clock)", $2, plural)
	} else if ($1 == "sluice-tcp") {
		name = sprintf("1. TC program, TCP (departure time stamped), %d destinations", $2)
		if ($2 == 1000000)
			target = "<= " tt " ns above empty"
		t = tt
	} else if ($1 == "unmatched") {
		name = sprintf("1. TC program, no matching policy (%d in table)", $2)
		target = "<= " tu " ns above empty"
		t = tu
	} else if ($1 == "sluice-tcp-cycle") {
		name = sprintf("1. TC program, TCP, %d destinations active at once (each packet to another)", $2)
	} else if ($1 == "unmatched-cycle") {
		name = sprintf("1. TC program, no matching policy, %d destinations at once (each packet to another)", $2)
	} else {
		name = "1. " $1
	}
	base = $8 == "empty" ? "empty" : $8 == "empty-tcp" ? "empty behind the stamp program" : \
	       $8 == "empty-cycle" ? "empty, same runs" : "empty behind the stamp program, same runs"
	met = target == "(none)" ? "-" : ($9 <= t ? "met" : "not met")
	if ($7 != "yes")
		met = "invalid run"
	printf "%s\t%.1f ns/pkt\t%.1f ns/pkt (%s)\t%+.1f ns\t%s\t%s\n", name, $3, med[$8], base, $9, target, met
}' "$out" >"$RESULTS/summary-cost.tsv"

{
	echo "### Case 1: per-packet cost (BPF_PROG_TEST_RUN, repeat $REPEAT, cycles of $CYCLE, median of $ROUNDS rounds)"
	echo
	echo "| program | destinations | median ns/pkt | min | max | baseline | above baseline (median of rounds) | kernel run_time_ns/run_cnt | above baseline (kernel) | path checked |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' '{
		printf "| %s | %s | %.1f | %s | %s | %s | %+.1f | %s | %s | %s |\n", $1, $2 == 0 ? "-" : $2,
		       $3, $4, $5, $8, $9, $6 < 0 ? "n/a" : sprintf("%.1f", $6),
		       $10 == "n/a" ? "n/a" : sprintf("%+.1f", $10), $7
	}' "$out"
	echo
	echo "clock is the empty program with one bpf_ktime_get_ns() call before it: the"
	echo "price of the clock read that a packet without a departure time costs, here."
	echo "empty-tcp is the stamp program (it sets skb->tstamp as TCP does) tail-calling"
	echo "the empty program: the baseline of every TCP row. The *-cycle rows send one"
	echo "packet per run to each of $CYCLE destinations in turn, beside the empty"
	echo "programs run the same way. Kernel figures include the cost of the two clock"
	echo "reads that BPF statistics add around each run; compare them with the"
	echo "baseline's, not with zero."
} >"$RESULTS/detail-cost.md"
