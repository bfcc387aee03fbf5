#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The adaptive benchmark: sluice's adaptive policy in front of a congested
# downstream, against three senders measured in the same run beside it:
# no regulator with cubic, no regulator with bbr, and a static tbf at the
# sender at 92% of the bottleneck.
#
#   tools/bench_adaptive.sh [SCENARIO...]
#       flows      16 and 64 cubic flows into the bottleneck: probe p99, goodput
#       step       the bottleneck halves, then doubles back
#       surge      12 sheddable flows beside critical traffic
#       blackhole  the path drops everything for 4 s, then heals
#       loss       1% random loss behind the bottleneck for 20 s
#       stall      the receiving application stops reading for 5 s
#   (default: all of them, in that order; about 11 minutes on 2 cores)
#   VARIANTS="sluice" runs only the named senders (of: sluice cubic bbr tbf),
#   for a quick look at one of them; the published tables compare all four.
#   POLICY_MAX (default 1gbit) and POLICY_EXTRA (more lines for the policy
#   section) change sluice's policy: POLICY_MAX=90mbit POLICY_EXTRA="min =
#   90mbit" pins the rate: the path's delay tail at a fixed load, with no
#   probing. HEADROOM (default: unset, sluice.conf's 10%) sets the critical
#   class's headroom in the surge: HEADROOM=30% trades a fifth of the
#   path for the lower classes against critical latency.
#   REPEAT=N runs it all N times, each whole run in OUT/run-K, and writes
#   OUT/repeat.md: per target, in how many runs sluice met it and the
#   median (tools/bench/adaptive/repeat.py). One run on a small shared
#   machine says little about a change to the law; three say more.
#
# Every run gets a fresh lab (tests/lab/lab.sh: client -> router -> server,
# a 100 Mbit/s htb with a 1000-packet pfifo on the router toward the
# server). sluice runs as sluiced with the default adaptive policy
# (max 1gbit, gradient controller) on the client's c0 and a child cgroup
# of our own that holds every client. Every 100 ms a sampler records the
# bottleneck's byte counter and queue, and sluice's rate, pressure and
# breaker for the server; ping probes the path every 20 ms, and the
# router's near side (the client side's own delay, no bottleneck) as often.
#
# Writes bench-results/adaptive/: results.md (the tables), csv/ (one
# 100 ms time series per run), *.png (plots), raw/ (everything measured).
# docs/BENCHMARKS_ADAPTIVE.md describes each scenario.
#
# Everything it creates is private to this run (lab sba-PID, pins
# /sys/fs/bpf/sluice-bench-adaptive-PID, cgroup sluice-bench-adaptive-PID)
# and removed on exit. It ends only processes it started, by pid.
# A benchmark, not a test: targets are reported as met or not met, and it
# exits 0 unless a scenario could not run.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
SLUICED=$BUILD/sluiced
SLUICECTL=$BUILD/sluicectl
HERE=$ROOT/tools/bench/adaptive
LAB_SH=$ROOT/tests/lab/lab.sh
OUT=${OUT:-$ROOT/bench-results/adaptive}
PY=/usr/bin/python3

BOTTLENECK_MBIT=100
TBF_RATE=92mbit
read -r -a VARIANTS <<<"${VARIANTS:-sluice cubic bbr tbf}"
POLICY_MAX=${POLICY_MAX:-1gbit}
POLICY_EXTRA=${POLICY_EXTRA:-}
HEADROOM=${HEADROOM:-}
ALL_SCENARIOS=(flows step surge blackhole loss stall)

die() { echo "bench-adaptive: $*" >&2; exit 1; }
say() { echo "bench-adaptive: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, tc, bpffs, cgroups)"
for bin in "$SLUICED" "$SLUICECTL"; do
	[ -x "$bin" ] || die "$bin is not built: run make"
done
for tool in ip tc ss nsenter iperf3 sockperf ping ethtool clang bpftool gnuplot awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed (make deps)"
done
[ -x "$PY" ] || die "$PY is missing"

SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=("${ALL_SCENARIOS[@]}")
for s in "${SCENARIOS[@]}"; do
	[[ " ${ALL_SCENARIOS[*]} " = *" $s "* ]] || die "unknown scenario '$s' (${ALL_SCENARIOS[*]})"
done

REPEAT=${REPEAT:-1}
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a number of runs, not '$REPEAT'"
if [ "$REPEAT" -gt 1 ]; then
	# Whole runs one after another, from one copy of the binaries, then
	# what they show together.
	BIN=$(mktemp -d /tmp/sluice-bench-adaptive-bin.XXXXXX) || die "cannot make a directory"
	trap 'rm -rf -- "$BIN"' EXIT
	cp -p "$SLUICED" "$SLUICECTL" "$BIN/" || die "cannot copy the binaries"
	runs=()
	for k in $(seq "$REPEAT"); do
		say "run $k of $REPEAT"
		runs+=("$OUT/run-$k")
		REPEAT=1 BUILD=$BIN OUT="$OUT/run-$k" VARIANTS="${VARIANTS[*]}" \
			"$ROOT/tools/bench_adaptive.sh" "${SCENARIOS[@]}" || die "run $k failed: $OUT/run-$k"
	done
	"$PY" "$HERE/repeat.py" "$OUT" "${runs[@]}" >/dev/null || die "repeat.py failed"
	say "wrote $OUT/repeat.md"
	exit 0
fi

CG_ROOT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
	/proc/self/mountinfo)
[ -n "$CG_ROOT" ] || die "no cgroup v2 mount in /proc/self/mountinfo"
if ! awk '$3 == "bpf" && $2 == "/sys/fs/bpf" { f = 1 } END { exit !f }' /proc/mounts; then
	mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs at /sys/fs/bpf"
fi

LAB=sba-$$
LAB_ID=$(($$ % 250 + 1))
PIN=/sys/fs/bpf/sluice-bench-adaptive-$$
CG=$CG_ROOT/sluice-bench-adaptive-$$
WORK=$(mktemp -d /tmp/sluice-bench-adaptive.XXXXXX)
# One copy of the binaries for the whole run: a rebuild of build/ meanwhile
# cannot mix two versions of sluiced and sluicectl on one pin directory.
cp "$SLUICED" "$SLUICECTL" "$WORK/" || { rm -rf -- "$WORK"; die "cannot copy the binaries"; }
SLUICED=$WORK/sluiced
SLUICECTL=$WORK/sluicectl
eval "$(bash "$LAB_SH" env "$LAB" "$LAB_ID")"

RUN_PIDS=()     # every background process of the current run
DAEMON_PID=
PING_PID=
HOST_PING_PID=
SAMPLER_PID=
RD=             # the current run's raw directory
T0=             # the current run's time zero (wall clock, s)
CC=cubic

# --- clean-up ------------------------------------------------------------------

# End one process we started: SIGTERM, then SIGKILL after two seconds.
end_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for _ in $(seq 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stop_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		end_pid "$DAEMON_PID"
		DAEMON_PID=
	fi
	if [ -e "$PIN" ] && [ -e "/run/netns/$NS_C" ]; then
		nsenter --net="/run/netns/$NS_C" "$SLUICED" --uninstall --pin-dir "$PIN" \
			--iface "$IF_C" >>"$WORK/uninstall.log" 2>&1
	fi
	# Only our own pin directory, only if something is left in it.
	if [ -d "$PIN" ] && [ ! -L "$PIN" ]; then
		rm -rf --one-file-system -- "$PIN"
	fi
}

stop_run_procs() {
	local pid
	for pid in "${RUN_PIDS[@]}"; do
		end_pid "$pid"
	done
	RUN_PIDS=()
	PING_PID='' SAMPLER_PID=''
}

cleanup() {
	local pid
	set +e
	trap - EXIT INT TERM
	stop_run_procs
	stop_daemon
	if [ -d "$CG" ]; then
		# Only our own clients are in our cgroup.
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done <"$CG/cgroup.procs"
		for _ in $(seq 20); do
			rmdir "$CG" 2>/dev/null && break
			sleep 0.2
		done
	fi
	bash "$LAB_SH" down "$LAB" >/dev/null 2>&1
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- time ----------------------------------------------------------------------

now() { date +%s.%N; }

# at SECONDS: sleep until SECONDS after the run's time zero.
at() {
	local d
	d=$(awk -v t0="$T0" -v s="$1" -v now="$(now)" 'BEGIN { d = t0 + s - now; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}

mark() { echo "$1 $(now)" >>"$RD/marks.txt"; }

# --- processes -------------------------------------------------------------------

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# bg_server CMD...: a process in the server namespace, ended at the run's end.
bg_server() {
	in_ns "$NS_S" "$@" </dev/null >>"$RD/servers.log" 2>&1 &
	RUN_PIDS+=($!)
}

# bg_client OUTFILE CMD...: CMD in our cgroup and the client namespace,
# stdout to OUTFILE; its pid in CLIENT_PID.
bg_client() {
	local out=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 && exec nsenter --net="/run/netns/$ns" "$@"' \
		sh "$CG" "$NS_C" "$@" </dev/null >"$out" 2>>"$RD/clients.err" &
	CLIENT_PID=$!
	RUN_PIDS+=("$CLIENT_PID")
}

wait_listen() {
	local port=$1
	for _ in $(seq 50); do
		[ -n "$(in_ns "$NS_S" ss -Hltn "sport = :$port")" ] && return 0
		sleep 0.1
	done
	die "nothing listens on port $port in $NS_S"
}

# Wait (at most 3 s) until the bottleneck's queue is empty, so that probes
# still queued behind the last data come back before ping is stopped.
wait_drained() {
	local q
	for _ in $(seq 30); do
		q=$(in_ns "$NS_R" tc -s qdisc show dev "$IF_R_S" |
			awk '/^qdisc pfifo/ { p = 1 } p && /backlog/ { sub(/p$/, "", $3); print $3; exit }')
		[ "${q:-0}" = 0 ] && return 0
		sleep 0.1
	done
}

# wait_pid PID [SECONDS]: wait for a client to end, at most SECONDS (default
# 40), then end it.
wait_pid() {
	local pid=$1 max=${2:-40}
	for _ in $(seq $((max * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	end_pid "$pid"
}

# --- a run -------------------------------------------------------------------------

write_config() {
	local classes=$1
	cat >"$RD/sluice.conf" <<EOT
# the adaptive benchmark's sluiced: the lab's client side only
[sluice]
interface = $IF_C
cgroup = $CG
pin_dir = $PIN
interval = 100ms

# the default adaptive policy: gradient controller between 10mbit and 1gbit
[policy bench-server]
prefix = $S_IP/32
max = $POLICY_MAX
$POLICY_EXTRA
EOT
	if [ "$classes" = classes ]; then
		cat >>"$RD/sluice.conf" <<EOT

[class critical]
dscp = 46
${HEADROOM:+headroom = $HEADROOM}

[class sheddable]
dscp = 10
EOT
	fi
}

start_daemon() {
	nsenter --net="/run/netns/$NS_C" "$SLUICED" -c "$RD/sluice.conf" -v \
		</dev/null >"$RD/sluiced.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		grep -q '\bready\b' "$RD/sluiced.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || die "sluiced exited: $(tail -5 "$RD/sluiced.log")"
		sleep 0.1
	done
	die "sluiced not ready: $(tail -5 "$RD/sluiced.log")"
}

# run_begin SCENARIO VARIANT [classes] [ping TOS] [sampler ports]:
# a fresh lab, the variant's regulator, the sampler and the ping probe.
run_begin() {
	local scen=$1 variant=$2 classes=${3:-} tos=${4:-0} ports=${5:-} sampler_args=()
	RD=$OUT/raw/$scen-$variant
	rm -rf -- "$RD"
	mkdir -p "$RD"
	bash "$LAB_SH" up "$LAB" "$LAB_ID" "${BOTTLENECK_MBIT}mbit" >"$RD/lab.log" 2>&1 ||
		die "lab up failed: $(cat "$RD/lab.log")"
	CC=cubic
	case $variant in
	sluice)
		write_config "$classes"
		start_daemon
		sampler_args=(--sluicectl "$SLUICECTL" --pin-dir "$PIN" --dest "$S_IP")
		;;
	bbr)
		CC=bbr
		;;
	tbf)
		in_ns "$NS_C" tc qdisc add dev "$IF_C" root tbf rate "$TBF_RATE" burst 64kb latency 20ms
		;;
	esac
	cat >"$RD/meta.env" <<EOT
SCENARIO=$scen
VARIANT=$variant
CC=$CC
S_IP=$S_IP
BOTTLENECK_MBIT=$BOTTLENECK_MBIT
TBF_RATE=$TBF_RATE
PING_TOS=$tos
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
EOT
	"$PY" "$HERE/sampler.py" --out "$RD/sampler.csv" --router-ns "/run/netns/$NS_R" \
		--server-ns "/run/netns/$NS_S" --dev "$IF_R_S" --ports "$ports" \
		"${sampler_args[@]}" </dev/null 2>>"$RD/sampler.err" &
	SAMPLER_PID=$!
	RUN_PIDS+=("$SAMPLER_PID")
}

# Starts the probe and sets time zero: call right before the load starts.
run_go() {
	local tos=${1:-0}
	in_ns "$NS_C" ping -D -n -O -i 0.02 -W 3 -Q "$tos" "$S_IP" </dev/null >"$RD/ping.txt" 2>&1 &
	PING_PID=$!
	RUN_PIDS+=("$PING_PID")
	# The same probe to the router's near side: no bottleneck on the way,
	# so what it sees is the client side's own delay under the load.
	in_ns "$NS_C" ping -D -n -O -i 0.02 -W 3 "$R_C_IP" </dev/null >"$RD/ping-host.txt" 2>&1 &
	HOST_PING_PID=$!
	RUN_PIDS+=("$HOST_PING_PID")
	sleep 0.3
	T0=$(now)
	mark t0
}

run_end() {
	local variant=$1
	mark end
	wait_drained
	[ -z "$PING_PID" ] || end_pid "$PING_PID" INT
	[ -z "$HOST_PING_PID" ] || end_pid "$HOST_PING_PID" INT
	[ -z "$SAMPLER_PID" ] || end_pid "$SAMPLER_PID"
	if [ "$variant" = sluice ]; then
		"$SLUICECTL" --pin-dir "$PIN" -j events -n 1024 >"$RD/events.json" 2>>"$RD/clients.err"
		"$SLUICECTL" --pin-dir "$PIN" dest show "$S_IP" >"$RD/dest.txt" 2>&1
		stop_daemon
	elif [ "$variant" = tbf ]; then
		in_ns "$NS_C" tc -s qdisc show dev "$IF_C" >"$RD/tbf.txt" 2>&1
		in_ns "$NS_C" tc qdisc del dev "$IF_C" root 2>/dev/null
	fi
	stop_run_procs
	bash "$LAB_SH" down "$LAB" >/dev/null 2>&1
}

iperf_servers() {
	local port
	for port in "$@"; do
		bg_server iperf3 -s -p "$port"
		wait_listen "$port"
	done
}

sockperf_server() {
	bg_server sockperf sr --tcp -i "$S_IP" -p 11111
	wait_listen 11111
}

# sockperf_probe OUT SECONDS [TOS]: a TCP ping-pong, 50 per second, from our
# cgroup; it reports round-trip times (--full-rtt), as ping does.
sockperf_probe() {
	local out=$1 secs=$2 tos=${3:-}
	local extra=()
	[ -z "$tos" ] || extra=(--tos "$tos")
	bg_client "$out" sockperf pp --tcp -i "$S_IP" -p 11111 -t "$secs" --mps 50 --full-rtt "${extra[@]}"
}

# --- scenarios -------------------------------------------------------------------------

# 1. N cubic flows for 20 s; probes from the 5th second.
scen_flows() {
	local flows=$1 v sp ip
	for v in "${VARIANTS[@]}"; do
		say "flows: $flows flows, $v"
		run_begin "flows$flows" "$v"
		iperf_servers 5201
		sockperf_server
		run_go
		bg_client "$RD/iperf.json" iperf3 -c "$S_IP" -p 5201 -C "$CC" -P "$flows" -t 20 -J
		ip=$CLIENT_PID
		at 5
		mark window_start
		sockperf_probe "$RD/sockperf.txt" 14
		sp=$CLIENT_PID
		at 19.5
		mark window_end
		wait_pid "$ip"
		# sockperf gives up when latency reaches seconds; give it 3 s more.
		for _ in $(seq 30); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
		end_pid "$sp"
		run_end "$v"
	done
}

tc_rate() {
	in_ns "$NS_R" tc class change dev "$IF_R_S" parent 1: classid 1:10 htb \
		rate "$1" ceil "$1" quantum 60000
}

# 2. 16 cubic flows; the bottleneck halves at 8 s and doubles back at 16 s.
scen_step() {
	local v ip
	for v in "${VARIANTS[@]}"; do
		say "step: 100 -> 50 -> 100 Mbit/s, $v"
		run_begin step "$v"
		iperf_servers 5201
		run_go
		bg_client "$RD/iperf.json" iperf3 -c "$S_IP" -p 5201 -C "$CC" -P 16 -t 24 -J
		ip=$CLIENT_PID
		at 8
		tc_rate 50mbit
		mark step_down
		at 16
		tc_rate 100mbit
		mark step_up
		wait_pid "$ip"
		run_end "$v"
	done
}

# 3. Critical traffic (1 flow at 30 Mbit/s, DSCP 46, and the probes) alone
# for 8 s, then 12 sheddable flows (DSCP 10) beside it for 10 s.
scen_surge() {
	local v ci si
	for v in "${VARIANTS[@]}"; do
		say "surge: 12 sheddable flows beside critical, $v"
		run_begin surge "$v" classes 184 5201,5202
		iperf_servers 5201 5202
		sockperf_server
		run_go 184
		bg_client "$RD/iperf-critical.json" iperf3 -c "$S_IP" -p 5201 -C "$CC" -S 184 \
			-b 30M -t 18 -J
		ci=$CLIENT_PID
		at 2.5
		sockperf_probe "$RD/sockperf-alone.txt" 5 184
		at 8
		mark surge_start
		bg_client "$RD/iperf-sheddable.json" iperf3 -c "$S_IP" -p 5202 -C "$CC" -S 40 \
			-P 12 -t 10 -J
		si=$CLIENT_PID
		at 10
		sockperf_probe "$RD/sockperf-surge.txt" 7 184
		wait_pid "$ci"
		wait_pid "$si"
		for _ in $(seq 30); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
		run_end "$v"
	done
}

# 4a. 16 cubic flows and a client that connects for each request; the
# router discards everything toward the server (a blackhole route: no
# ICMP, nothing) from 6 s to 10 s.
scen_blackhole() {
	local v ip cl
	for v in "${VARIANTS[@]}"; do
		say "blackhole: 4 s, $v"
		run_begin blackhole "$v"
		iperf_servers 5201
		bg_server "$PY" "$HERE/tcpapp.py" echo-server --port 7000
		wait_listen 7000
		run_go
		bg_client "$RD/iperf.json" iperf3 -c "$S_IP" -p 5201 -C "$CC" -P 16 -t 18 -J
		ip=$CLIENT_PID
		bg_client "$RD/connects.txt" "$PY" "$HERE/tcpapp.py" connect-loop --host "$S_IP" \
			--port 7000 --seconds 18 --gap 0.1
		cl=$CLIENT_PID
		at 6
		in_ns "$NS_R" ip route add blackhole "$S_IP/32"
		mark blackhole
		at 10
		in_ns "$NS_R" ip route del blackhole "$S_IP/32"
		mark heal
		wait_pid "$ip"
		wait_pid "$cl"
		run_end "$v"
	done
}

loss_counters() {
	local id map
	id=$(in_ns "$NS_S" tc filter show dev "$IF_S" ingress | sed -n 's/.* id \([0-9]*\) .*/\1/p' | head -n1)
	map=$(bpftool -j prog show id "$id" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["map_ids"][0])')
	echo "$(now) $(bpftool -j map dump id "$map" | "$PY" -c 'import json, sys; print(" ".join(str(e["formatted"]["value"]) for e in json.load(sys.stdin)))')"
}

# 4b. 16 cubic flows for 20 s with 1% of the packets behind the
# bottleneck dropped at random (tools/bench/adaptive/loss.bpf.c).
scen_loss() {
	local v ip
	clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -DLOSS_PPM=10000 \
		-c "$HERE/loss.bpf.c" -o "$WORK/loss.bpf.o" || die "cannot build loss.bpf.c"
	for v in "${VARIANTS[@]}"; do
		say "loss: 1% for 20 s, $v"
		run_begin loss "$v"
		# The router segments what it forwards, so the loss program sees
		# (and drops) single frames, not 64 KB GSO packets.
		in_ns "$NS_R" ethtool -K "$IF_R_S" tso off gso off >/dev/null 2>&1
		in_ns "$NS_S" tc qdisc add dev "$IF_S" clsact
		in_ns "$NS_S" tc filter add dev "$IF_S" ingress bpf direct-action \
			obj "$WORK/loss.bpf.o" sec tc || die "cannot attach the loss program"
		iperf_servers 5201
		run_go
		bg_client "$RD/iperf.json" iperf3 -c "$S_IP" -p 5201 -C "$CC" -P 16 -t 20 -J
		ip=$CLIENT_PID
		at 5
		loss_counters >>"$RD/loss-counters.txt"
		at 19.5
		loss_counters >>"$RD/loss-counters.txt"
		wait_pid "$ip"
		run_end "$v"
	done
}

# 5. One flow to a server that reads for 3 s, stops reading for 5 s, then
# reads again.
scen_stall() {
	local v cl
	for v in "${VARIANTS[@]}"; do
		say "stall: the receiver stops reading for 5 s, $v"
		run_begin stall "$v"
		bg_server "$PY" "$HERE/tcpapp.py" stall-server --port 7001 --read 3 --stall 5 \
			--after 6 --log "$RD/stall.txt"
		wait_listen 7001
		run_go
		bg_client "$RD/bulk.json" "$PY" "$HERE/tcpapp.py" bulk-client --host "$S_IP" \
			--port 7001 --seconds 14 --cc "$CC" --trace "$RD/bulk-trace.txt"
		cl=$CLIENT_PID
		wait_pid "$cl"
		sleep 0.5
		run_end "$v"
	done
}

# --- main ------------------------------------------------------------------------------

mkdir -p "$OUT"
mkdir "$CG" || die "cannot create $CG"
{
	echo "started $(date -u '+%Y-%m-%d %H:%M:%S UTC') load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "sluice $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || echo ' (with uncommitted changes)'); sluiced built $(date -u -r "$BUILD/sluiced" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "$SLUICED" | cut -c1-12)"
} >"$WORK/run.txt"
started=$SECONDS
failed=0
for s in "${SCENARIOS[@]}"; do
	t=$SECONDS
	case $s in
	flows) scen_flows 16 && scen_flows 64 ;;
	*) "scen_$s" ;;
	esac || failed=1
	say "$s took $((SECONDS - t)) s"
done
{
	cat "$WORK/run.txt"
	echo "ended $(date -u '+%Y-%m-%d %H:%M:%S UTC') load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "took $((SECONDS - started)) s"
	echo "kernel $(uname -r), $(nproc) CPUs, default congestion control $(sysctl -n net.ipv4.tcp_congestion_control)"
	echo "$(iperf3 --version | head -n1 | cut -d' ' -f1-2), $(sockperf --version 2>&1 | head -n1)"
} >"$OUT/raw/run.txt"
"$PY" "$HERE/analyze.py" "$OUT" || failed=1
say "wrote $OUT/results.md"
exit "$failed"
