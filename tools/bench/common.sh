# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Shared by the lab benchmarks (sourced, not run): one namespace lab per
# script, a private cgroup and pin directory, one copy of sluiced and
# sluicectl for the whole script, sluiced started and stopped by pid, and
# a cleanup that undoes all of it on any exit.
#
#   bench_setup TAG ID   lab "sb-TAG-PID" (tests/lab/lab.sh, subnets by ID),
#                        iperf3 server in the server namespace, cgroup
#                        CG2/sluice-bench-TAG-PID, pins /sys/fs/bpf/sluice-bench-TAG-PID
#   sluiced_start        start sluiced on the client's c0 and our cgroup
#   sluiced_stop         SIGTERM it and wait
#   nap SECONDS          sleep, interruptible by the cleanup
#   ctl ARGS...          sluicectl on our pin directory
#   client CMD...        run CMD in our cgroup, in the client namespace
#   if_bytes PID IF rx|tx  byte counter of IF in PID's network namespace
#   iperf_bps, median, summary_row: see below

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
RESULTS=${RESULTS:-$ROOT/bench-results}
LAB=$ROOT/tests/lab/lab.sh

BENCH_LAB=
BENCH_CG=
BENCH_PIN=
SLUICED_PID=
SLUICED_LOG=
BENCH_BIN=
IPERF_PID=
HOLD_PID=
NAP_PID=

log() { printf '  [%s] %s\n' "${BENCH_TAG:-bench}" "$*" >&2; }

# The cgroup v2 mount point, from mountinfo: the field after " - " is the type.
cgroup2_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

bpffs_ensure() {
	if ! awk '$3 == "bpf" && $2 == "/sys/fs/bpf" { f = 1 } END { exit !f }' /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf
	fi
}

bench_cleanup() {
	local rc=$?

	set +e
	[ -z "$NAP_PID" ] || kill "$NAP_PID" 2>/dev/null
	sluiced_stop
	[ -z "$IPERF_PID" ] || kill "$IPERF_PID" 2>/dev/null
	[ -z "$HOLD_PID" ] || kill "$HOLD_PID" 2>/dev/null
	[ -z "$IPERF_PID" ] || wait "$IPERF_PID" 2>/dev/null
	[ -z "$HOLD_PID" ] || wait "$HOLD_PID" 2>/dev/null
	IPERF_PID='' HOLD_PID=''
	# Whatever a sluiced that died early left attached or pinned.
	if [ -n "$BENCH_PIN" ] && [ -d "$BENCH_PIN" ] && [ -e "${NSC:-/nonexistent}" ]; then
		nsenter --net="$NSC" "$BENCH_BIN/sluiced" -U --pin-dir "$BENCH_PIN" \
			--iface "$IF_C" --cgroup "$BENCH_CG" >>"$SLUICED_LOG" 2>&1
	fi
	[ -z "$BENCH_LAB" ] || "$LAB" down "$BENCH_LAB"
	if [ -n "$BENCH_CG" ] && [ -d "$BENCH_CG" ]; then
		# processes killed with the lab may take a moment to leave it
		for _ in $(seq 50); do
			rmdir "$BENCH_CG" 2>/dev/null && break
			sleep 0.1
		done
		[ ! -d "$BENCH_CG" ] || log "cgroup $BENCH_CG not removed"
	fi
	case $BENCH_PIN in
	/sys/fs/bpf/sluice-bench-*) rm -rf -- "$BENCH_PIN" ;;
	esac
	case $BENCH_BIN in
	/tmp/sluice-bench-bin.*) rm -rf -- "$BENCH_BIN" ;;
	esac
	BENCH_LAB='' BENCH_CG='' BENCH_PIN='' BENCH_BIN=''
	return "$rc"
}

bench_setup() {
	local tag=$1 id=$2 cg2

	BENCH_TAG=$tag
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || { log "no cgroup v2 mount"; return 1; }
	bpffs_ensure
	BENCH_LAB=sb-$tag-$$
	BENCH_CG=$cg2/sluice-bench-$tag-$$
	BENCH_PIN=/sys/fs/bpf/sluice-bench-$tag-$$
	SLUICED_LOG=$RESULTS/raw/sluiced-$tag.log
	mkdir -p "$RESULTS/raw"
	: >"$SLUICED_LOG"
	: >"$RESULTS/summary-$tag.tsv"
	# One copy of the binaries serves the whole case, even if build/
	# changes meanwhile: every restart must be able to adopt the pins.
	BENCH_BIN=$(mktemp -d /tmp/sluice-bench-bin.XXXXXX)
	cp "$BUILD/sluiced" "$BUILD/sluicectl" "$BENCH_BIN/"
	mkdir "$BENCH_CG"
	"$LAB" up "$BENCH_LAB" "$id" >/dev/null
	eval "$("$LAB" env "$BENCH_LAB" "$id")"
	NSC=/run/netns/$NS_C
	NSS=/run/netns/$NS_S
	nsenter --net="$NSS" iperf3 -s -B "$S_IP" >/dev/null 2>&1 &
	IPERF_PID=$!
	# A process in the client namespace, whose /proc/PID/net shows c0.
	nsenter --net="$NSC" sleep 86400 &
	HOLD_PID=$!
	sleep 0.5
	kill -0 "$IPERF_PID" || { log "iperf3 server did not start"; return 1; }
}

sluiced_start() {
	local from

	echo "--- start $(date -Is)" >>"$SLUICED_LOG"
	from=$(wc -l <"$SLUICED_LOG")
	nsenter --net="$NSC" "$BENCH_BIN/sluiced" --pin-dir "$BENCH_PIN" --iface "$IF_C" \
		--cgroup "$BENCH_CG" -v >>"$SLUICED_LOG" 2>&1 &
	SLUICED_PID=$!
	for _ in $(seq 100); do
		if ! kill -0 "$SLUICED_PID" 2>/dev/null; then
			SLUICED_PID=''
			log "sluiced exited before ready (see $SLUICED_LOG)"
			return 1
		fi
		tail -n +"$((from + 1))" "$SLUICED_LOG" | grep -q ready && return 0
		sleep 0.1
	done
	log "sluiced not ready after 10 s (see $SLUICED_LOG)"
	return 1
}

sluiced_stop() {
	[ -n "$SLUICED_PID" ] || return 0
	kill -TERM "$SLUICED_PID" 2>/dev/null
	wait "$SLUICED_PID" 2>/dev/null
	SLUICED_PID=''
}

# sleep that a signal interrupts at once (bash runs traps only between
# foreground commands, but at once during wait).
nap() {
	sleep "$1" &
	NAP_PID=$!
	wait "$NAP_PID"
	NAP_PID=''
}

ctl() {
	"$BENCH_BIN/sluicectl" --pin-dir "$BENCH_PIN" "$@"
}

client() {
	# shellcheck disable=SC2016 # $$ is the inner shell's pid
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec nsenter --net="$@"' \
		client "$BENCH_CG" "$NSC" "$@"
}

# Counter of interface $2 as seen from process $1's network namespace.
if_bytes() {
	local pid=$1 ifname=$2 dir=$3 name rest
	local -a f

	while IFS=: read -r name rest; do
		name=${name// /}
		[ "$name" = "$ifname" ] || continue
		read -r -a f <<<"$rest"
		if [ "$dir" = rx ]; then echo "${f[0]}"; else echo "${f[8]}"; fi
		return 0
	done <"/proc/$pid/net/dev"
	return 1
}

# Receiver goodput in bit/s from an iperf3 -J report on stdin.
iperf_bps() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One row of the results table: case, sluice, baseline, comparison, target, met.
summary_row() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/summary-$BENCH_TAG.tsv"
}
