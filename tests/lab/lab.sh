#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The network-namespace lab: client -- router -- server, three namespaces
# joined by veth pairs, with no route out of them. Addresses come from the
# benchmarking ranges (198.18.0.0/15, and fd00:5101::/32 for IPv6), so
# nothing here can be mistaken for a real network.
#
#   lab.sh up NAME [ID] [BOTTLENECK] [RTT_MS]
#                                     create lab NAME (ID 1..250 picks the
#                                     subnets; BOTTLENECK like 100mbit puts an
#                                     htb class with a pfifo of 1000 on the
#                                     router's link toward the server, "" for
#                                     none; RTT_MS adds that round trip on the
#                                     wire between router and server: a delay
#                                     line in namespace NAME-d, half of it
#                                     each way; DELAYLINE names its binary)
#   lab.sh down NAME                  remove every namespace of lab NAME
#   lab.sh env NAME [ID]              print the lab's names and addresses as
#                                     shell assignments
#   lab.sh bytes NAME                 bytes sent toward the server as tc counts
#                                     them (root qdisc of r1 in NAME-r)
#
# Namespaces: NAME-c, NAME-r, NAME-s (and NAME-d with a delay). Client
# side: veth "c0" in NAME-c. Router side: "r0" toward the client, "r1"
# toward the server. Server: "s0". The delay line joins "d0" (peer of r1)
# and "d1" (peer of s0) at layer 2: it has no address, router and server
# still share a subnet. Its pid file and log are in /run/sluice-lab/.
set -euo pipefail

usage() { sed -n '4,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

lab_env() {
	local name=$1 id=${2:-1}
	cat <<EOT
LAB_NAME=$name
NS_C=$name-c
NS_R=$name-r
NS_S=$name-s
NS_D=$name-d
IF_C=c0
IF_R_C=r0
IF_R_S=r1
IF_S=s0
C_IP=198.18.$id.2
R_C_IP=198.18.$id.1
R_S_IP=198.19.$id.1
S_IP=198.19.$id.2
C_IP6=fd00:5101:$id:1::2
R_C_IP6=fd00:5101:$id:1::1
R_S_IP6=fd00:5101:$id:2::1
S_IP6=fd00:5101:$id:2::2
MANY6=fd00:5101:$id:3::
EOT
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

RUN_DIR=/run/sluice-lab

# The delay line between router and server: r1 -- d0 [delayline] d1 -- s0.
delay_up() {
	local rtt_ms=$1 bin=${DELAYLINE:-$(dirname "$0")/../../build/tests/lab/delayline}
	local half_us pid=$RUN_DIR/$NS_D.pid

	half_us=$(awk -v ms="$rtt_ms" 'BEGIN { printf "%d", ms * 500 }')
	[ -x "$bin" ] || { echo "lab.sh: no delay line at $bin (make test-bins)" >&2; return 1; }
	mkdir -p "$RUN_DIR"
	ip link add "$IF_R_S" netns "$NS_R" type veth peer name d0 netns "$NS_D"
	ip link add d1 netns "$NS_D" type veth peer name "$IF_S" netns "$NS_S"
	for dev in d0 d1; do
		in_ns "$NS_D" ip link set "$dev" up
	done
	# Whole frames with their checksums into the line, which moves each
	# as it came: a veth hands on GSO super-packets, too big for its
	# slots, and TCP segments whose checksum is left to a device that
	# never computes it (AF_PACKET reads them as they are). Checksumming
	# in software turns both off.
	in_ns "$NS_R" ethtool -K "$IF_R_S" tx off >/dev/null
	in_ns "$NS_S" ethtool -K "$IF_S" tx off >/dev/null
	in_ns "$NS_D" "$bin" -d "${half_us}us" -D "${half_us}us" -p "$pid" d0 d1 \
		</dev/null >"$RUN_DIR/$NS_D.log" 2>&1 &
	# Ready when both sockets are bound: it writes its pid file then.
	for _ in $(seq 50); do
		[ -s "$pid" ] && return 0
		sleep 0.1
	done
	echo "lab.sh: the delay line did not start: $(cat "$RUN_DIR/$NS_D.log")" >&2
	return 1
}

lab_up() {
	local name=$1 id=${2:-1} bottleneck=${3:-} rtt_ms=${4:-}
	eval "$(lab_env "$name" "$id")"

	lab_down "$name" 2>/dev/null || true
	ip netns add "$NS_C"
	ip netns add "$NS_R"
	ip netns add "$NS_S"
	[ -z "$rtt_ms" ] || ip netns add "$NS_D"
	# Before the links exist, so that their link-local addresses skip
	# duplicate address detection too (it delays the first IPv6 packet).
	for ns in "$NS_C" "$NS_R" "$NS_S" ${rtt_ms:+"$NS_D"}; do
		in_ns "$ns" ip link set lo up
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
		in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	done
	ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_R_C" netns "$NS_R"
	if [ -z "$rtt_ms" ]; then
		ip link add "$IF_R_S" netns "$NS_R" type veth peer name "$IF_S" netns "$NS_S"
	else
		delay_up "$rtt_ms"
	fi
	in_ns "$NS_C" ip addr add "$C_IP/24" dev "$IF_C"
	in_ns "$NS_C" ip -6 addr add "$C_IP6/64" dev "$IF_C" nodad
	in_ns "$NS_R" ip addr add "$R_C_IP/24" dev "$IF_R_C"
	in_ns "$NS_R" ip -6 addr add "$R_C_IP6/64" dev "$IF_R_C" nodad
	in_ns "$NS_R" ip addr add "$R_S_IP/24" dev "$IF_R_S"
	in_ns "$NS_R" ip -6 addr add "$R_S_IP6/64" dev "$IF_R_S" nodad
	in_ns "$NS_S" ip addr add "$S_IP/24" dev "$IF_S"
	in_ns "$NS_S" ip -6 addr add "$S_IP6/64" dev "$IF_S" nodad
	in_ns "$NS_C" ip link set "$IF_C" up
	in_ns "$NS_R" ip link set "$IF_R_C" up
	in_ns "$NS_R" ip link set "$IF_R_S" up
	in_ns "$NS_S" ip link set "$IF_S" up
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
	# Routes only toward the other end of the lab: nothing leads out.
	in_ns "$NS_C" ip route add "198.19.$id.0/24" via "$R_C_IP"
	in_ns "$NS_C" ip -6 route add "fd00:5101:$id:2::/64" via "$R_C_IP6"
	in_ns "$NS_S" ip route add "198.18.$id.0/24" via "$R_S_IP"
	in_ns "$NS_S" ip -6 route add "fd00:5101:$id:1::/64" via "$R_S_IP6"
	# A whole prefix the server owns through a local route, MANY6/64: every
	# address in it is a host of the lab, for tests with many destinations.
	in_ns "$NS_S" ip -6 route add local "fd00:5101:$id:3::/64" dev lo
	in_ns "$NS_R" ip -6 route add "fd00:5101:$id:3::/64" via "$S_IP6"
	in_ns "$NS_C" ip -6 route add "fd00:5101:$id:3::/64" via "$R_C_IP6"
	# ECN: accept it when asked (the kernel default), as a real host would.
	for ns in "$NS_C" "$NS_S"; do
		in_ns "$ns" sysctl -qw net.ipv4.tcp_ecn=2
	done
	# The router's link toward the server always has a root qdisc, so its
	# byte counters give the rate as tc counts it: every segment of a GSO
	# super-packet with its own headers. Interface counters on veth count
	# a super-packet's headers once, which reads a few percent low.
	if [ -z "$bottleneck" ]; then
		in_ns "$NS_R" tc qdisc add dev "$IF_R_S" root handle 1: pfifo limit 10000
	else
		in_ns "$NS_R" tc qdisc add dev "$IF_R_S" root handle 1: htb default 10
		in_ns "$NS_R" tc class add dev "$IF_R_S" parent 1: classid 1:10 htb \
			rate "$bottleneck" ceil "$bottleneck" quantum 60000
		in_ns "$NS_R" tc qdisc add dev "$IF_R_S" parent 1:10 handle 10: pfifo limit 1000
	fi
}

lab_down() {
	local name=$1 ns
	for ns in "$name-c" "$name-r" "$name-s" "$name-d"; do
		if [ -e "/run/netns/$ns" ]; then
			# End only the processes that live in this lab's namespaces.
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -9 "$pid" 2>/dev/null || true
			done
			ip netns del "$ns"
		fi
	done
	rm -f "$RUN_DIR/$name-d.pid" "$RUN_DIR/$name-d.log"
}

lab_bytes() {
	ip netns exec "$1-r" tc -s qdisc show dev r1 | awk '/^qdisc .* root/ { root = 1 } root && /Sent/ { print $2; exit }'
}

[ $# -ge 2 ] || usage
case $1 in
up)   lab_up "$2" "${3:-1}" "${4:-}" "${5:-}" ;;
down) lab_down "$2" ;;
env)  lab_env "$2" "${3:-1}" ;;
bytes) lab_bytes "$2" ;;
*)    usage ;;
esac
