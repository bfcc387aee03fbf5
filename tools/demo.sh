#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# sluice in about a minute: a client, a router and a server in network
# namespaces of their own, sluiced on the client side. First one
# destination limited to 50 Mbit/s; then the real job: the router's link
# toward the server becomes a 100 Mbit/s bottleneck with a deep queue, and
# 16 TCP flows push through it, first unregulated, then under sluice's
# default adaptive policy. Rates are bits on the wire as tc counts them (the
# byte counter of the root qdisc on the router's link toward the server, as
# `lab.sh bytes` reads it, which counts every segment's headers), measured
# from the second to the fifth second of each run.
#
# Everything it makes is private to this run and removed on exit: the lab's
# namespaces, a child cgroup for the client, a pin directory, sluiced.
# Run as root after `make`: `sudo make demo`.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SLUICED=$PWD/$BUILD/sluiced
SLUICECTL=$PWD/$BUILD/sluicectl
LAB=$PWD/tests/lab/lab.sh
RATE=50mbit
RUN_SECONDS=5

die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, tc, bpffs, cgroups): sudo make demo"
for bin in "$SLUICED" "$SLUICECTL"; do
	[ -x "$bin" ] || die "$bin is not built: run make"
done
for tool in ip tc nsenter iperf3 bpftool awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed: run make deps"
done
CG_ROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG_ROOT" ] || die "no cgroup v2 mount found in /proc/self/mountinfo"

NAME=sluice-demo-$$
ID=$(($$ % 250 + 1))
PIN=/sys/fs/bpf/$NAME
CG=$CG_ROOT/$NAME
WORK=$(mktemp -d /tmp/sluice-demo.XXXXXX)
eval "$(bash "$LAB" env "$NAME" "$ID")"
DAEMON_PID=
SERVER_PID=
CLIENT_PID=

cleanup() {
	local pid
	set +e
	for pid in $CLIENT_PID $SERVER_PID; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -d "$PIN" ] && [ -e "/run/netns/$NS_C" ]; then
		nsenter --net="/run/netns/$NS_C" "$SLUICED" --uninstall --pin-dir "$PIN" \
			--iface "$IF_C" >/dev/null 2>&1
	fi
	# Only this demo's pin directory, and only if sluiced left anything.
	[ -d "$PIN" ] && [ ! -L "$PIN" ] && rm -rf --one-file-system "$PIN"
	if [ -d "$CG" ]; then
		# Only the demo's own clients are in its cgroup.
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null
		done <"$CG/cgroup.procs"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$CG" 2>/dev/null && break
			sleep 0.2
		done
	fi
	bash "$LAB" down "$NAME" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Bytes the router has sent toward the server, with the time of reading.
wire_sample() {
	local bytes
	bytes=$(bash "$LAB" bytes "$NAME")
	echo "$(date +%s.%N) $bytes"
}

# measure LABEL IPERF3-ARGS...: one iperf3 client in the demo's cgroup;
# prints the wire rate in Mbit/s and leaves iperf3's JSON in $WORK/LABEL.json.
measure() {
	local label=$1 a b
	shift
	sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" \
		nsenter --net="/run/netns/$NS_C" \
		iperf3 -c "$S_IP" -C cubic -t "$RUN_SECONDS" -J "$@" >"$WORK/$label.json" &
	CLIENT_PID=$!
	sleep 1.5
	a=$(wire_sample)
	sleep $((RUN_SECONDS - 2))
	b=$(wire_sample)
	wait "$CLIENT_PID" || die "iperf3 failed: $(head -c 300 "$WORK/$label.json")"
	CLIENT_PID=
	echo "$a $b" | awk '{ printf "%.1f", ($4 - $2) * 8 / ($3 - $1) / 1e6 }'
}

retransmits() {
	awk -F'[:,]' '/"retransmits"/ { n = $2 } END { print n + 0 }' "$WORK/$1.json"
}

echo "sluice demo: client $C_IP  ->  router  ->  server $S_IP"
echo "  lab $NAME (namespaces $NS_C, $NS_R, $NS_S), no bottleneck"
bash "$LAB" up "$NAME" "$ID"
mkdir "$CG"

in_ns "$NS_S" iperf3 -s >/dev/null 2>&1 &
SERVER_PID=$!

echo "  starting sluiced on the client side: pins in $PIN, sock_ops on $CG"
nsenter --net="/run/netns/$NS_C" "$SLUICED" --pin-dir "$PIN" --iface "$IF_C" \
	--cgroup "$CG" >"$WORK/sluiced.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do
	grep -q ready "$WORK/sluiced.log" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || die "sluiced exited: $(cat "$WORK/sluiced.log")"
	sleep 0.1
done
grep -q ready "$WORK/sluiced.log" || die "sluiced not ready: $(cat "$WORK/sluiced.log")"
sleep 0.3 # the iperf3 server is listening by now

echo
echo "measuring with no limit (${RUN_SECONDS} s each) ..."
tcp_before=$(measure tcp-before)
echo "  TCP, one cubic flow        $tcp_before Mbit/s"
udp_before=$(measure udp-before -u -b 200M)
echo "  UDP, offered at 200 Mbit/s $udp_before Mbit/s"

echo
echo "# sluicectl policy add $S_IP/32 rate $RATE"
"$SLUICECTL" --pin-dir "$PIN" policy add "$S_IP/32" rate "$RATE"
echo
echo "measuring with the limit ..."
tcp_after=$(measure tcp-after)
echo "  TCP, one cubic flow        $tcp_after Mbit/s"
udp_after=$(measure udp-after -u -b 200M)
echo "  UDP, offered at 200 Mbit/s $udp_after Mbit/s"

echo
echo "wire rate toward $S_IP (Mbit/s, as tc counts frames on the router)"
printf '  %-28s %12s %14s\n' "" "no limit" "$RATE limit"
printf '  %-28s %12s %14s\n' "TCP, one cubic flow" "$tcp_before" "$tcp_after"
printf '  %-28s %12s %14s\n' "  retransmitted segments" "$(retransmits tcp-before)" \
	"$(retransmits tcp-after)"
printf '  %-28s %12s %14s\n' "UDP, offered at 200 Mbit/s" "$udp_before" "$udp_after"
echo
echo "sluice paces each TCP connection at its share of the rate, so TCP slows"
echo "down without losing segments; UDP cannot be paced, so the bucket drops what"
echo "exceeds the rate (DROPPED below)."

echo
echo "# sluicectl dest list"
"$SLUICECTL" --pin-dir "$PIN" dest list
echo
echo "# bpftool map dump pinned $PIN/sluice_dest (first lines)"
bpftool map dump pinned "$PIN/sluice_dest" >"$WORK/dest.dump"
head -n 32 "$WORK/dest.dump"

# --- part 2: a congested downstream -------------------------------------------
FLOWS=16
BOTTLENECK=100mbit

# congested LABEL: FLOWS cubic flows for 12 s with a ping through the
# bottleneck from the 4th to the 10th second (after slow start, and after
# sluice's first seconds of finding the bottleneck); prints
# "goodput p50 p99".
congested() {
	local label=$1 a b
	sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" \
		nsenter --net="/run/netns/$NS_C" \
		iperf3 -c "$S_IP" -C cubic -P "$FLOWS" -t 12 >/dev/null 2>&1 &
	CLIENT_PID=$!
	sleep 4
	a=$(wire_sample)
	in_ns "$NS_C" ping -n -i 0.1 -c 60 -W 5 "$S_IP" >"$WORK/$label.ping" 2>&1 || true
	b=$(wire_sample)
	wait "$CLIENT_PID" || true
	CLIENT_PID=
	rate=$(echo "$a $b" | awk '{ printf "%.1f", ($4 - $2) * 8 / ($3 - $1) / 1e6 }')
	sed -n 's/.*time=\([0-9.]*\).*/\1/p' "$WORK/$label.ping" | sort -n |
		awk -v rate="$rate" '{ v[NR] = $1 } END {
			if (!NR) { print rate, "-", "-"; exit }
			printf "%s %.1f %.1f\n", rate, v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)] }'
}

echo
echo "part 2: a congested downstream"
echo "# sluicectl policy del $S_IP/32"
"$SLUICECTL" --pin-dir "$PIN" policy del "$S_IP/32"
echo "  the router's link toward the server becomes a $BOTTLENECK bottleneck"
echo "  with a 1000-packet queue: a downstream that queues"
in_ns "$NS_R" tc qdisc del dev "$IF_R_S" root
in_ns "$NS_R" tc qdisc add dev "$IF_R_S" root handle 1: htb default 10
in_ns "$NS_R" tc class add dev "$IF_R_S" parent 1: classid 1:10 htb rate "$BOTTLENECK" \
	ceil "$BOTTLENECK" quantum 60000
in_ns "$NS_R" tc qdisc add dev "$IF_R_S" parent 1:10 handle 10: pfifo limit 1000
echo
echo "measuring $FLOWS cubic flows with a ping through the bottleneck, no policy ..."
read -r cg_rate_before cg_p50_before cg_p99_before < <(congested unregulated)
echo "  goodput $cg_rate_before Mbit/s, ping median $cg_p50_before ms, p99 $cg_p99_before ms"
sleep 2 # let the queue drain

echo
echo "# sluicectl policy add $S_IP/32 max 1gbit    (adaptive: the gradient law)"
"$SLUICECTL" --pin-dir "$PIN" policy add "$S_IP/32" max 1gbit
echo "measuring again ..."
read -r cg_rate_after cg_p50_after cg_p99_after < <(congested adaptive)
echo "  goodput $cg_rate_after Mbit/s, ping median $cg_p50_after ms, p99 $cg_p99_after ms"

echo
echo "$FLOWS cubic flows through a $BOTTLENECK bottleneck with a 1000-packet queue"
printf '  %-28s %14s %14s\n' "" "unregulated" "sluice"
printf '  %-28s %14s %14s\n' "goodput (Mbit/s)" "$cg_rate_before" "$cg_rate_after"
printf '  %-28s %14s %14s\n' "ping median (ms)" "$cg_p50_before" "$cg_p50_after"
printf '  %-28s %14s %14s\n' "ping p99 (ms)" "$cg_p99_before" "$cg_p99_after"
echo
echo "sluice reads each destination's RTT, losses, ECN and receive windows from"
echo "the kernel and moves its rate and in-flight window so that the queue stays"
echo "short while the link stays busy."
echo
echo "# sluicectl dest show $S_IP"
"$SLUICECTL" --pin-dir "$PIN" dest show "$S_IP"
echo
echo "# sluicectl events -n 8"
"$SLUICECTL" --pin-dir "$PIN" events -n 8

echo
echo "done: removing the lab, the cgroup, the pins and sluiced"
