#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Case 2: does sluice cost throughput when it does not limit? One cubic
# iperf3 flow through the lab (no bottleneck: the flow is CPU-bound), in
# three modes:
#   none       no sluice program anywhere
#   unmatched  sluiced attached, no policy matches the server
#   matched    a policy covers the server at a rate far above the flow
# Each round brackets the two sluice modes (in alternating order) between
# two runs without sluice, and divides each by the mean of those two, so
# that drift of the machine cancels. A round counts only if its two
# baseline runs agree within STABLE_PCT: other load on the machine moves a
# CPU-bound flow by far more than the 1% looked for. The median over the
# rounds that count is reported. Writes summary-throughput.tsv,
# detail-throughput.md and raw/throughput.tsv.
set -euo pipefail
# shellcheck source=tools/bench/common.sh
source "$(dirname "$0")/common.sh"
ROUNDS=${ROUNDS:-9}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
HIGH_RATE=${HIGH_RATE:-400gbit}
STABLE_PCT=${STABLE_PCT:-5}
TARGET=0.99

bench_setup throughput 93
PREFIX=${S_IP%.*}.0/24
RAW=$RESULTS/raw/throughput.tsv
echo -e "round\tmode\tbits_per_second" >"$RAW"

run() {
	local round=$1 mode=$2 bps

	bps=$(client iperf3 -c "$S_IP" -t "$SECONDS_PER_RUN" -O 1 -C cubic -J \
		| tee "$RESULTS/raw/throughput-$round-$mode.json" | iperf_bps)
	echo -e "$round\t$mode\t$bps" >>"$RAW"
	log "round $round $mode: $(awk -v b="$bps" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }')"
}

with_policy() {
	ctl policy add "$PREFIX" rate "$HIGH_RATE" >/dev/null
	run "$1" matched
	ctl policy del "$PREFIX" >/dev/null
}

for r in $(seq "$ROUNDS"); do
	run "$r" none_a
	sluiced_start
	if [ $((r % 2)) -eq 1 ]; then
		run "$r" unmatched
		with_policy "$r"
	else
		with_policy "$r"
		run "$r" unmatched
	fi
	sluiced_stop
	run "$r" none_b
done

# Rounds whose baseline held: second run within STABLE_PCT of the first.
# Only they count; when none did, the case is inconclusive.
stable_rounds() {
	awk -F'\t' -v p="$STABLE_PCT" 'NR > 1 { b[$1, $2] = $3; r[$1] = 1 }
		END { for (k in r) { x = b[k, "none_b"] / b[k, "none_a"] - 1
			  if (x <= p / 100 && x >= -p / 100) print k } }' "$RAW" | sort -n
}
# Median over the stable rounds of a mode's ratio to the round's baseline.
ratio_median() {
	awk -F'\t' -v m="$1" -v keep="$(stable_rounds | tr '\n' ' ')" '
		NR > 1 { b[$1, $2] = $3 }
		END { n = split(keep, k, " ")
		      for (i = 1; i <= n; i++)
			  print b[k[i], m] / ((b[k[i], "none_a"] + b[k[i], "none_b"]) / 2) }' "$RAW" |
		median
}
bps_median() {
	awk -F'\t' -v m="$1" 'NR > 1 && $2 ~ m { print $3 }' "$RAW" | median
}

stable=$(stable_rounds | wc -l)
none=$(bps_median '^none')
for mode in unmatched matched; do
	name="2. iperf3 throughput, sluice attached, no policy matching"
	[ "$mode" = unmatched ] || name="2. iperf3 throughput, policy at $HIGH_RATE (not limiting)"
	if [ "$stable" -gt 0 ]; then
		ratio=$(ratio_median "$mode")
		cmp=$(awk -v x="$ratio" -v n="$stable" -v r="$ROUNDS" -v p="$STABLE_PCT" \
			'BEGIN { printf "ratio %.3f (median of the %d of %d rounds whose baseline held within %d%%)", x, n, r, p }')
		met=$(awk -v x="$ratio" -v t="$TARGET" 'BEGIN { print (x >= t ? "met" : "not met") }')
	else
		cmp="no round's baseline held within $STABLE_PCT%"
		met="inconclusive (noise)"
	fi
	summary_row "$name" \
		"$(awk -v b="$(bps_median "^$mode\$")" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }')" \
		"$(awk -v b="$none" 'BEGIN { printf "%.2f Gbit/s (no program)", b / 1e9 }')" \
		"$cmp" ">= $TARGET" "$met"
done

{
	echo "### Case 2: throughput when not limiting (1 cubic flow, ${SECONDS_PER_RUN} s per run, $ROUNDS rounds)"
	echo
	echo "| round | none, before (Gbit/s) | unmatched (Gbit/s) | ratio | matched at $HIGH_RATE (Gbit/s) | ratio | none, after (Gbit/s) | after / before |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' 'NR > 1 { b[$1, $2] = $3; if ($1 > n) n = $1 }
		END { for (i = 1; i <= n; i++) {
			base = (b[i, "none_a"] + b[i, "none_b"]) / 2
			printf "| %d | %.2f | %.2f | %.3f | %.2f | %.3f | %.2f | %.3f |\n", i,
			       b[i, "none_a"] / 1e9, b[i, "unmatched"] / 1e9, b[i, "unmatched"] / base,
			       b[i, "matched"] / 1e9, b[i, "matched"] / base, b[i, "none_b"] / 1e9,
			       b[i, "none_b"] / b[i, "none_a"] } }' "$RAW"
	echo
	echo "Ratios are to the mean of the round's two runs without sluice. Rounds"
	echo "whose after / before is outside 1 +- $STABLE_PCT% are left out of the summary."
} >"$RESULTS/detail-throughput.md"
