#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Case 3: rate accuracy at 50 Mbit/s over a 20 s steady window, for 1 and 8
# cubic TCP flows and for UDP offered at twice the rate, each beside a tbf
# qdisc at the same rate on the client's interface, in the same run.
#
# The rate is wire bits: the byte counters of the client's c0 (tx) and the
# server's s0 (rx), read from /proc/PID/net/dev of a process in each
# namespace, not iperf3's goodput. Segmentation offloads are off on c0 and
# GRO on the router, so every frame is counted with its own headers, as a
# physical link would carry it and as sluice charges it. Writes
# summary-rate.tsv, detail-rate.md and raw/rate.tsv.
set -euo pipefail
# shellcheck source=tools/bench/common.sh
source "$(dirname "$0")/common.sh"
RATE_MBIT=${RATE_MBIT:-50}
WARM=${WARM:-2}
WINDOW=${WINDOW:-20}
TARGET_PCT=1

bench_setup rate 97
RAW=$RESULTS/raw/rate.tsv
echo -e "workload\tlimiter\ttx_bps\trx_bps\tretrans_or_loss\tlimiter_drops" >"$RAW"
nsenter --net="$NSC" ethtool -K "$IF_C" tso off gso off >/dev/null
nsenter --net="/run/netns/$NS_R" ethtool -K "$IF_R_C" gro off >/dev/null
nsenter --net="/run/netns/$NS_R" ethtool -K "$IF_R_S" gro off tso off gso off >/dev/null

workload_args() {
	case $1 in
	tcp1) echo "-C cubic" ;;
	tcp8) echo "-C cubic -P 8" ;;
	udp)  echo "-u -b $((RATE_MBIT * 2))M -l 1448" ;;
	esac
}

# "seconds tx_bytes rx_bytes", read as close together as bash allows.
sample() {
	local t=$EPOCHREALTIME

	echo "$t $(if_bytes "$HOLD_PID" "$IF_C" tx) $(if_bytes "$IPERF_PID" "$IF_S" rx)"
}

# TCP: retransmitted segments; UDP: datagrams lost, in percent.
iperf_extra() {
	python3 -c 'import json, sys
e = json.load(sys.stdin)["end"]
s = e.get("sum", {})
print("%.1f%%" % s["lost_percent"] if "lost_percent" in s else e["sum_sent"]["retransmits"])'
}

# Packets the limiter has dropped so far: the destination's counter in
# sluice (it lives as long as the pinned maps), the qdisc's in tbf.
limiter_drops() {
	if [ "$1" = sluice ]; then
		ctl -j dest show "$S_IP" 2>/dev/null | tee "$RESULTS/raw/rate-$2-sluice-dest.json" |
			json_get entry dropped_pkts || true
	else
		nsenter --net="$NSC" tc -s -j qdisc show dev "$IF_C" root |
			json_get 0 drops || true
	fi
}

# Print the field at a path of keys (list indexes are numbers) of the
# JSON document on stdin, or n/a.
json_get() {
	python3 -c 'import json, sys
try:
	v = json.load(sys.stdin)
	for k in sys.argv[1:]:
		v = v[int(k)] if isinstance(v, list) else v[k]
	print(v)
except Exception:
	print("n/a")' "$@"
}

limiter_on() {
	if [ "$1" = sluice ]; then
		sluiced_start
		ctl policy add "$S_IP/32" rate "${RATE_MBIT}mbit" >/dev/null
	else
		nsenter --net="$NSC" tc qdisc add dev "$IF_C" root tbf \
			rate "${RATE_MBIT}mbit" burst 64kb latency 50ms
	fi
}

limiter_off() {
	if [ "$1" = sluice ]; then
		ctl policy del "$S_IP/32" >/dev/null
		sluiced_stop
	else
		nsenter --net="$NSC" tc qdisc del dev "$IF_C" root
	fi
}

run() {
	local wl=$1 lim=$2 json=$RESULTS/raw/rate-$1-$2.json pid a b d0 d1
	d0=$(limiter_drops "$lim" "$wl-before")
	# shellcheck disable=SC2046 # the arguments are meant to split
	client iperf3 -c "$S_IP" -t $((WARM + WINDOW + 1)) $(workload_args "$wl") -J \
		>"$json" &
	pid=$!
	nap "$WARM"
	a=$(sample)
	nap "$WINDOW"
	b=$(sample)
	wait "$pid"
	d1=$(limiter_drops "$lim" "$wl")
	echo "$a $b" | awk -v wl="$wl" -v lim="$lim" -v x="$(iperf_extra <"$json")" \
		-v d0="$d0" -v d1="$d1" '{
		d = d1 == "n/a" ? "n/a" : d1 - (d0 == "n/a" ? 0 : d0)
		printf "%s\t%s\t%.0f\t%.0f\t%s\t%s\n", wl, lim, ($5 - $2) * 8 / ($4 - $1),
		       ($6 - $3) * 8 / ($4 - $1), x, d }' >>"$RAW"
	log "$wl $lim: $(tail -n1 "$RAW" | cut -f3 | awk '{ printf "%.3f Mbit/s", $1 / 1e6 }')"
}

order=0
for wl in tcp1 tcp8 udp; do
	if [ $((order++ % 2)) -eq 0 ]; then lims="sluice tbf"; else lims="tbf sluice"; fi
	for lim in $lims; do
		limiter_on "$lim"
		run "$wl" "$lim"
		limiter_off "$lim"
	done
done

awk -F'\t' -v r="$RATE_MBIT" -v t="$TARGET_PCT" '
function err(bps) { return (bps / (r * 1e6) - 1) * 100 }
NR > 1 { tx[$1, $2] = $3 }
END {
	n = split("tcp1 tcp8 udp", wl, " ")
	name["tcp1"] = "1 cubic flow"; name["tcp8"] = "8 cubic flows"
	name["udp"] = "UDP offered at " 2 * r " Mbit/s"
	for (i = 1; i <= n; i++) {
		s = tx[wl[i], "sluice"]; b = tx[wl[i], "tbf"]
		printf "3. rate accuracy at %d Mbit/s, %s, 20 s\t%.3f Mbit/s (%+.2f%%)\ttbf %.3f Mbit/s (%+.2f%%)\terror %+.2f%% vs tbf %+.2f%%\twithin %d%%\t%s\n",
		       r, name[wl[i]], s / 1e6, err(s), b / 1e6, err(b), err(s), err(b), t,
		       (err(s) <= t && err(s) >= -t) ? "met" : "not met"
	}
}' "$RAW" >"$RESULTS/summary-rate.tsv"

{
	echo "### Case 3: rate accuracy at $RATE_MBIT Mbit/s (wire bits over ${WINDOW} s after ${WARM} s)"
	echo
	echo "| workload | limiter | c0 tx (Mbit/s) | error | s0 rx (Mbit/s) | error | TCP retransmits / UDP loss | limiter drops (pkts) |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' -v r="$RATE_MBIT" 'NR > 1 {
		printf "| %s | %s | %.3f | %+.2f%% | %.3f | %+.2f%% | %s | %s |\n", $1, $2, $3 / 1e6,
		       ($3 / (r * 1e6) - 1) * 100, $4 / 1e6, ($4 / (r * 1e6) - 1) * 100, $5, $6 }' "$RAW"
	echo
	echo "Drops are counted over the whole run (sluice: the destination's counter;"
	echo "tbf: the qdisc's). UDP loss is iperf3's: datagrams sent but not received."
} >"$RESULTS/detail-rate.md"
