#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Case 4: the control loop at scale. sluiced tracks SIZES destinations
# (default 10^4, 10^5 and 10^6) of one adaptive policy; ACTIVE of them
# (10^3) are TCP connections that send a request every PERIOD_MS, the rest
# one refused connect each. Per size: daemon CPU per tick, tick wall time
# p50/p99, the lease left at each renewal, RSS per destination, and whether
# every active destination's rate is computed in every tick. Then
# ALL_ACTIVE destinations all active, and a scan of SCAN_RATE new
# destinations a second (daemon CPU as % of one core). Each figure beside
# the same daemon idle, with its table empty.
#
# Destinations are addresses of the lab's MANY6/64, which the server
# namespace owns through a local route: tools/bench/scale_load.c makes
# the load (scan, flows, and their server) and reads the lease from
# outside (watch). When sluiced logs its own summary of the control loop
# ("control: N ticks: wall p50 ..."), its wall times, visited count,
# overruns and lease margin are used; until then the lease watcher's, and
# a second start of sluiced with -v whose debug lines (one per active
# destination and tick) say which destinations each tick computed.
# Writes summary-scale.tsv, detail-scale.md and raw/scale*.
set -euo pipefail
# shellcheck source=tools/bench/common.sh
source "$(dirname "$0")/common.sh"
SIZES=${SIZES:-"10000 100000 1000000"}
ACTIVE=${ACTIVE:-1000}
PERIOD_MS=${PERIOD_MS:-50}
# 10^5 connections that each send every tick do not fit this 2-core VM
# (docs/BENCHMARKS.md): all-active runs at the largest count that does.
ALL_ACTIVE=${ALL_ACTIVE:-2000}
ALL_PERIOD_MS=${ALL_PERIOD_MS:-90}
SCAN_RATE=${SCAN_RATE:-100000}
SCAN_SECONDS=${SCAN_SECONDS:-5}
SCAN_JOBS=${SCAN_JOBS:-2}
WINDOW=${WINDOW:-20}
IDLE_WINDOW=${IDLE_WINDOW:-5}
SETTLE=${SETTLE:-3}
VERIFY=${VERIFY:-auto}        # -v pass: auto (when sluiced has no summary), 1, 0
VERIFY_WINDOW=${VERIFY_WINDOW:-4}
INTERVAL_MS=100
PORT=7777
SCAN_OFF=$((1 << 32))         # scanned hosts: MANY6::1:0:1 and on; flows: MANY6::1 and on
RATE_OFF=$((2 << 32))
BARE_OFF=$((3 << 32))
TARGET_CPU_MS=2
TARGET_ALL_CPU_MS=10
TARGET_WALL_PCT=30
TARGET_BYTES=256
TARGET_SCAN_PCT=20

bench_setup scale 89
cp "$BUILD/tools/scale_load" "$BENCH_BIN/"
LOAD=$BENCH_BIN/scale_load
RAWD=$RESULTS/raw
RAW=$RAWD/scale.tsv
CONF=$BENCH_BIN/sluice.conf
SERVE_PID='' FLOWS_PID='' SCAN_PID=''

# Our processes, by pid, before what common.sh undoes.
scale_cleanup() {
	local rc=$? p

	set +e
	for p in "$FLOWS_PID" "$SCAN_PID" "$SERVE_PID"; do
		[ -z "$p" ] || kill "$p" 2>/dev/null
	done
	for p in "$FLOWS_PID" "$SCAN_PID" "$SERVE_PID"; do
		[ -z "$p" ] || wait "$p" 2>/dev/null
	done
	FLOWS_PID='' SCAN_PID='' SERVE_PID=''
	sluiced_stop
	(exit "$rc")
	bench_cleanup
}
trap scale_cleanup EXIT

# In our cgroup and the client namespace. exec, so that a caller's $! is
# the process itself (a backgrounded function is a subshell otherwise).
in_client() {
	echo "$BASHPID" >"$BENCH_CG/cgroup.procs"
	exec nsenter --net="$NSC" "$@"
}

write_conf() {
	local count=$1 size

	# 1.25x the destinations, so the LRU tables never evict one.
	size=$((count * 5 / 4))
	[ "$size" -ge 1024 ] || size=1024
	[ "$size" -le 16777216 ] || size=16777216
	cat >"$CONF" <<-EOF
		[sluice]
		interface = $IF_C
		cgroup = $BENCH_CG
		dest_table_size = $size
		interval = ${INTERVAL_MS}ms

		[policy many]
		prefix = $MANY6/64
		max = 1gbit
	EOF
}

# sluiced with our config, its output appended to $2 (default: its log).
daemon_start() {
	local verbose=${1:-} out=${2:-$SLUICED_LOG} from

	echo "--- start $(date -Is) $verbose" >>"$SLUICED_LOG"
	[ -e "$out" ] || : >"$out"
	from=$(wc -l <"$out")
	# shellcheck disable=SC2086 # $verbose is one option or none
	nsenter --net="$NSC" "$BENCH_BIN/sluiced" -c "$CONF" --pin-dir "$BENCH_PIN" $verbose \
		>>"$out" 2>&1 &
	SLUICED_PID=$!
	for _ in $(seq 600); do
		if ! kill -0 "$SLUICED_PID" 2>/dev/null; then
			SLUICED_PID=''
			log "sluiced exited before ready (see $out)"
			return 1
		fi
		# not tail | grep -q: with pipefail, tail's SIGPIPE on a long
		# verbose log would fail the match
		awk -v f="$from" 'NR > f && /sluiced: ready/ { m = 1; exit } END { exit !m }' \
			"$out" && return 0
		sleep 0.1
	done
	log "sluiced not ready after 60 s (see $out)"
	return 1
}

daemon_stop() { sluiced_stop; }

# The tables go with the pins: the next size gets tables of its own size.
uninstall() {
	nsenter --net="$NSC" "$BENCH_BIN/sluiced" -U --pin-dir "$BENCH_PIN" --iface "$IF_C" \
		--cgroup "$BENCH_CG" >>"$SLUICED_LOG" 2>&1
}

# CPU time of the daemon in ns: schedstat's run time counts user and
# system time in ns, where stat's utime + stime come in 10 ms clock ticks.
cpu_ns() {
	if [ -r "/proc/$SLUICED_PID/schedstat" ]; then
		cut -d' ' -f1 "/proc/$SLUICED_PID/schedstat"
	else
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' \
			"/proc/$SLUICED_PID/stat"
	fi
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLUICED_PID/status"; }

# "key value" of a scale_load result line on stdin.
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }

# Watch the lease for $1 seconds, raw per-tick lines to $2; prints the
# watcher's line and the daemon's CPU ns over the same stretch.
measure() {
	local secs=$1 raw=$2 c0 c1 w

	c0=$(cpu_ns)
	w=$("$LOAD" watch "$BENCH_PIN" -I "$INTERVAL_MS" -t "$secs" -O "$raw" | tr '\n' ' ')
	c1=$(cpu_ns)
	echo "$w cpu_ns $((c1 - c0))"
}

# The daemon's summaries logged between lines $1 and $2 of its log, as
# "ticks p50 p99 max cpu tracked visited overruns margin" per line.
summaries() {
	sed -n "$(($1 + 1)),$2p" "$SLUICED_LOG" | sed -n -E \
		's/.*control: ([0-9]+) ticks: wall p50 ([0-9]+) us p99 ([0-9]+) us max ([0-9]+) us, cpu ([0-9]+) us per tick, tracked ([0-9]+), visited ([0-9]+) per tick, overruns ([0-9]+), lease margin min (-?[0-9]+) ms.*/\1 \2 \3 \4 \5 \6 \7 \8 \9/p'
}

# Of the verbose log $1, with the watcher's markers in it: per tick, how
# many distinct destinations among hosts 1..$2 (the active ones) had a
# line. Ticks are split at the generation markers of a sluiced that has a
# read generation, else at the renewals that end a tick: those no later
# renewal dates earlier (a long tick renews as it goes, from its start
# plus the time it has run; scale_load.c, watch). Only ticks between two
# markers count. Prints "ticks min max".
computed_per_tick() {
	python3 - "$1" "$2" <<-'EOF'
		import ipaddress, sys
		log, active = sys.argv[1], int(sys.argv[2])
		lines = open(log, errors="replace").read().splitlines()
		marks = [(i, l.split()) for i, l in enumerate(lines) if l.startswith("scale_load watch:")]
		if any("generation" in f for _, f in marks):
		    ends = {i for i, f in marks if "generation" in f}
		else:
		    ends, later = set(), float("inf")
		    for i, f in reversed(marks):
		        if "renewal" in f and int(f[-1]) <= later:
		            ends.add(i)
		        if "renewal" in f:
		            later = min(later, int(f[-1]))
		per, cur = [], None
		for i, line in enumerate(lines):
		    f = line.split()
		    if i in ends:
		        if cur is not None:
		            per.append(cur)
		        cur = set()
		        continue
		    if cur is None or len(f) < 3 or f[0] != "sluiced:" or " rate " not in line:
		        continue
		    try:
		        host = int(ipaddress.ip_address(f[1].rstrip(":"))) & (2**64 - 1)
		    except ValueError:
		        continue
		    if 1 <= host <= active:
		        cur.add(host)
		n = [len(s) for s in per] or [0]
		print(len(per), min(n), max(n))
	EOF
}

echo -e "run\tin_table\tactive\tperiod_ms\tticks\tcpu_us_tick\tidle_cpu_us_tick\twall_p50_us\twall_p99_us\twall_max_us\twall_from\toverruns\tmargin_min_ms\tlapses\trss_kb\tidle_rss_kb\tbytes_per_dest\tvisited\tcomputed_min\tcomputed_from\tflows_late\tscan_rate\tdaemon_cpu_us_tick\tticks_from\tgap_max_us" >"$RAW"

nsenter --net="$NSS" "$LOAD" serve -p "$PORT" -n $((ACTIVE > ALL_ACTIVE ? ACTIVE : ALL_ACTIVE)) \
	-t 3600 >"$RAWD/scale-serve.log" 2>&1 &
SERVE_PID=$!
sleep 0.3
kill -0 "$SERVE_PID" || { log "scale_load serve did not start"; exit 1; }

# One size: TOTAL destinations in the table, ACTIVE of them flows.
run_size() {
	local name=$1 total=$2 active=$3 period=$4 idle cpu_idle rss_idle scanned scan_out
	local flows_log=$RAWD/scale-$1-flows.log w ticks cpu_tick from to s rss in_table
	local p50 p99 pmax wall_from overruns margin lapses visited computed computed_from late
	local wm vt vmin dcpu ticks_from s2

	log "$name: $total destinations, $active active (every $period ms)"
	write_conf "$total"
	daemon_start
	nap 1
	idle=$(measure "$IDLE_WINDOW" "$RAWD/scale-$name-idle-ticks.tsv")
	cpu_idle=$(awk -v c="$(field cpu_ns <<<"$idle")" -v t="$(field ticks <<<"$idle")" \
		'BEGIN { printf "%.0f", (t > 0 ? c / t / 1000 : 0) }')
	rss_idle=$(rss_kb)
	scanned=$((total - active))
	scan_out=n/a
	if [ "$scanned" -gt 0 ]; then
		in_client "$LOAD" scan "$MANY6" -n "$scanned" -o "$SCAN_OFF" -j "$SCAN_JOBS" -p 9 \
			-t 600 >"$RAWD/scale-$name-scan.log" 2>&1 &
		SCAN_PID=$!
		wait "$SCAN_PID" || { SCAN_PID=''; log "$name: scan failed"; return 1; }
		SCAN_PID=''
		scan_out=$(field rate <"$RAWD/scale-$name-scan.log")
		log "$name: $(cat "$RAWD/scale-$name-scan.log")"
	fi
	in_client "$LOAD" flows "$MANY6" -n "$active" -p "$PORT" -i "$period" \
		-t $((SETTLE + WINDOW + VERIFY_WINDOW + 90)) >"$flows_log" 2>&1 &
	FLOWS_PID=$!
	for _ in $(seq 300); do
		grep -q established "$flows_log" && break
		kill -0 "$FLOWS_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "$name: $(head -n1 "$flows_log")"
	nap "$SETTLE"

	# The window: the daemon's CPU and the lease over it, and the
	# summaries the daemon logs meanwhile (lines from..to of its log).
	from=$(wc -l <"$SLUICED_LOG")
	w=$(measure "$WINDOW" "$RAWD/scale-$name-ticks.tsv")
	to=$(wc -l <"$SLUICED_LOG")
	rss=$(rss_kb)
	in_table=$("$LOAD" count "$BENCH_PIN/sluice_signals" | field entries)
	ticks=$(field ticks <<<"$w")
	cpu_tick=$(awk -v c="$(field cpu_ns <<<"$w")" -v t="$ticks" \
		'BEGIN { if (t > 0) printf "%.0f", c / t / 1000; else print "n/a" }')
	# Each summary covers the 10 s before it: the first of the window
	# reaches back before it, and is left out when there are more; so is
	# one that tracked a tenth less than the table holds (a daemon so slow
	# that its summary still covers the scan that filled the table).
	s=$(summaries "$from" "$to")
	[ "$(wc -l <<<"$s")" -lt 2 ] || s=$(tail -n +2 <<<"$s")
	s2=$(awk -v n="$in_table" '$6 >= n * 0.9' <<<"$s")
	[ -z "$s2" ] || s=$s2
	if [ -n "$s" ]; then
		p50=$(cut -d' ' -f2 <<<"$s" | median)
		dcpu=$(cut -d' ' -f5 <<<"$s" | median)
		read -r p99 pmax overruns margin visited < <(awk '
			{ if ($3 > p99) p99 = $3; if ($4 > mx) mx = $4; ov += $8
			  if (NR == 1 || $9 < mg) mg = $9; if (NR == 1 || $7 < vis) vis = $7 }
			END { print p99, mx, ov, mg, vis }' <<<"$s")
		wall_from="sluiced's summary"
		wm=$(field margin_min_ms <<<"$w")
		[ "$wm" = n/a ] || [ "$wm" -ge "$margin" ] || margin=$wm
	else
		p50=$(field wall_p50_us <<<"$w")
		p99=$(field wall_p99_us <<<"$w")
		pmax=$(field wall_max_us <<<"$w")
		overruns=$(field overruns <<<"$w")
		margin=$(field margin_min_ms <<<"$w")
		visited=n/a
		dcpu=n/a
		wall_from="lease watcher (+-$(field resolution_us <<<"$w") us)"
	fi
	lapses=$(field lapses <<<"$w")
	ticks_from=$(field ticks_from <<<"$w")
	# A sluiced with no read generation that renews as it goes in a long
	# tick: the renewals of a tick still running at the window's end look
	# like ticks from here. When its own CPU per tick disagrees with ours
	# by more than a fifth, its count of ticks is the one to trust.
	if [ "$ticks_from" = lease ] && [ "$dcpu" != n/a ] && [ "$cpu_tick" != n/a ] &&
		awk -v a="$cpu_tick" -v b="$dcpu" 'BEGIN { exit !(a < b * 0.8 || a > b * 1.25) }'; then
		ticks=$(awk -v c="$(field cpu_ns <<<"$w")" -v d="$dcpu" 'BEGIN { printf "%.1f", c / 1000 / d }')
		cpu_tick=$dcpu
		ticks_from="sluiced's cpu per tick; the lease's count was $(field ticks <<<"$w")"
	fi
	if [ "$visited" != n/a ]; then
		computed=$visited
		computed_from="visited per tick"
	else
		computed=n/a
		computed_from=n/a
	fi
	if [ "$VERIFY" = 1 ] || { [ "$VERIFY" = auto ] && [ "$visited" = n/a ]; }; then
		daemon_stop
		daemon_start -v "$RAWD/scale-$name-verbose.log"
		nap 2
		"$LOAD" watch "$BENCH_PIN" -I "$INTERVAL_MS" -t "$VERIFY_WINDOW" \
			-M "$RAWD/scale-$name-verbose.log" >/dev/null
		read -r vt vmin _ < <(computed_per_tick "$RAWD/scale-$name-verbose.log" "$active")
		computed=$vmin
		computed_from="sluiced -v lines, $vt ticks"
	fi
	kill "$FLOWS_PID" 2>/dev/null || true
	wait "$FLOWS_PID" || true
	FLOWS_PID=''
	late=$(tail -n1 "$flows_log" | field late)
	daemon_stop
	uninstall
	[ ! -f "$RAWD/scale-$name-verbose.log" ] || gzip -f "$RAWD/scale-$name-verbose.log" # 10^4 lines a second
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$name" "$in_table" "$active" "$period" "$ticks" "$cpu_tick" "$cpu_idle" "$p50" "$p99" \
		"$pmax" "$wall_from" "$overruns" "$margin" "$lapses" "$rss" "$rss_idle" \
		"$(awk -v r="$rss" -v i="$rss_idle" -v n="$in_table" 'BEGIN { printf "%.0f", (n > 0 ? (r - i) * 1024 / n : 0) }')" \
		"$visited" "$computed" "$computed_from" "${late:-n/a}" "$scan_out" "$dcpu" \
		"$ticks_from" "$(field gap_max_us <<<"$w")" >>"$RAW"
	log "$name: $(tail -n1 "$RAW" | tr '\t' ' ')"
}

# New destinations at SCAN_RATE a second for SCAN_SECONDS, into a table
# that holds them all: every connect is a destination the daemon has not
# seen.
run_scan() {
	local n=$((SCAN_RATE * SCAN_SECONDS)) idle c0 c1 t0 t1 out cpu_idle
	log "scan: $n new destinations at $SCAN_RATE/s"
	# What the load reaches with no sluice at all: how near to the rate
	# asked this machine comes, apart from what sluice costs it.
	in_client "$LOAD" scan "$MANY6" -n "$n" -o "$BARE_OFF" -r "$SCAN_RATE" -j "$SCAN_JOBS" \
		-p 9 -t $((SCAN_SECONDS * 4)) >"$RAWD/scale-scan-bare.log" 2>&1 &
	SCAN_PID=$!
	wait "$SCAN_PID" || { SCAN_PID=''; log "scan without sluice failed"; return 1; }
	SCAN_PID=''
	log "scan without sluice: $(cat "$RAWD/scale-scan-bare.log")"
	write_conf "$n"
	daemon_start
	nap 1
	idle=$(measure "$IDLE_WINDOW" "$RAWD/scale-scan-idle-ticks.tsv")
	cpu_idle=$(field cpu_ns <<<"$idle")
	c0=$(cpu_ns)
	t0=$EPOCHREALTIME
	in_client "$LOAD" scan "$MANY6" -n "$n" -o "$RATE_OFF" -r "$SCAN_RATE" -j "$SCAN_JOBS" \
		-p 9 -t $((SCAN_SECONDS * 4)) >"$RAWD/scale-scan.log" 2>&1 &
	SCAN_PID=$!
	wait "$SCAN_PID" || { SCAN_PID=''; log "scan failed"; return 1; }
	SCAN_PID=''
	t1=$EPOCHREALTIME
	c1=$(cpu_ns)
	out=$(cat "$RAWD/scale-scan.log")
	log "scan: $out"
	awk -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" -v ci="$cpu_idle" -v iw="$IDLE_WINDOW" \
		-v rate="$(field rate <<<"$out")" -v n="$(field connects <<<"$out")" \
		-v asked="$SCAN_RATE" -v r="$(field refused <<<"$out")" -v rss="$(rss_kb)" \
		-v bare="$(field rate <"$RAWD/scale-scan-bare.log")" \
		'BEGIN { pct = c / ((t1 - t0) * 1e9) * 100
		         printf "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t%.0f\n", "scan", rate, pct,
		                (rate > 0 ? pct * asked / rate : 0), ci / (iw * 1e9) * 100, n, r, rss,
		                bare }' \
		>"$RAWD/scale-scan.tsv"
	daemon_stop
	uninstall
}

for n in $SIZES; do
	a=$ACTIVE
	[ "$a" -le "$n" ] || a=$n
	run_size "$n" "$n" "$a" "$PERIOD_MS"
done
if [ "$ALL_ACTIVE" -gt 0 ]; then
	run_size "all-$ALL_ACTIVE" "$ALL_ACTIVE" "$ALL_ACTIVE" "$ALL_PERIOD_MS"
fi
if [ "$SCAN_RATE" -gt 0 ]; then
	run_scan
fi

# ---- the table rows --------------------------------------------------------
awk -F'\t' -v tc="$TARGET_CPU_MS" -v ta="$TARGET_ALL_CPU_MS" -v tw="$TARGET_WALL_PCT" \
	-v tb="$TARGET_BYTES" -v iv="$INTERVAL_MS" -v sizes="$SIZES" '
function ms(us) { return us == "n/a" ? "n/a" : sprintf("%.2f ms", us / 1000) }
function pow10(n) { return n == 10000 ? "10^4" : n == 100000 ? "10^5" : n == 1000000 ? "10^6" : n }
function verdict(ok, v) { return v == "n/a" ? "n/a" : (ok ? "met" : "not met") }
NR == 1 { next }
{
	all = $1 ~ /^all-/
	what = all ? sprintf("4. control loop, %d destinations all active (every %d ms)", $3, $4) : \
	       sprintf("4. control loop, %s in table, %d active", pow10($1), $3)
	# CPU per tick
	target = "(none)"; met = "-"
	if (all) { target = "<= " ta " ms (asked at 10^5 all active)"; met = verdict($6 <= ta * 1000, $6) }
	else if ($1 == 100000) { target = "<= " tc " ms"; met = verdict($6 <= tc * 1000, $6) }
	printf "%s: daemon CPU per tick\t%s\t%s (idle)\t%s\t%s\t%s\n", what, ms($6), ms($7),
	       ($6 == "n/a" ? "n/a" : sprintf("%+.2f ms", ($6 - $7) / 1000)), target, met
	# tick wall time
	target = "(none)"; met = "-"
	if ($1 == 1000000) { target = "p99 <= " tw "% of " iv " ms"; met = verdict($9 <= iv * 10 * tw, $9) }
	printf "%s: tick wall time p50 / p99\t%s / %s\tinterval %d ms\t%s\t%s\t%s\n",
	       what, ms($8), ms($9), iv, ($9 == "n/a" ? "n/a" : sprintf("p99 %.0f%% of the interval", $9 / (iv * 10))),
	       target, met
	# lease
	target = "(none)"; met = "-"
	if ($1 == 1000000) { target = "never lapses"; met = verdict($14 == 0 && $13 + 0 > 0, $13) }
	printf "%s: lease left at renewal (min)\t%s ms, %d lapse%s\tlease 1000 ms\t%s overrun%s\t%s\t%s\n",
	       what, $13, $14, $14 == 1 ? "" : "s", $12, $12 == 1 ? "" : "s", target, met
	# RSS per destination
	printf "%s: daemon RSS per destination\t%d B (%.1f MiB for %d)\tidle %.1f MiB\t%+.1f MiB\t<= %d B + idle\t%s\n",
	       what, $17, $15 / 1024, $2, $16 / 1024, ($15 - $16) / 1024, tb, verdict($17 <= tb, $17)
	# every tick, and ticks every interval: a rate computed in each of
	# ticks that come seconds apart is not computed every interval
	got = $20 ~ /^visited/ ? sprintf("%s per tick (sluiced'"'"'s visited count)", $19) : \
	      sprintf("%s of %d (%s)", $19, $3, $20)
	printf "%s: active destinations computed per tick (min)\t%s\t%d active\tticks at most %.0f ms apart\tall, every tick, ticks <= %.0f ms apart\t%s\n",
	       what, got, $3, $25 / 1000, iv * 1.5, verdict($19 >= $3 && $25 <= iv * 1500, $19)
}' "$RAW" >"$RESULTS/summary-scale.tsv"

if [ -s "$RAWD/scale-scan.tsv" ]; then
	awk -F'\t' -v t="$TARGET_SCAN_PCT" -v asked="$SCAN_RATE" '{
		printf "4. scan of %d new destinations/s: daemon CPU\t%.1f%% of a core at %.0f/s (%.1f%% scaled to %d/s)\t%.2f%% (idle); the load alone reaches %.0f/s\t%+.1f points\t<= %d%% of a core\t%s\n",
		       asked, $3, $2, $4, asked, $5, $9, $4 - $5, t, ($4 <= t ? "met" : "not met")
	}' "$RAWD/scale-scan.tsv" >>"$RESULTS/summary-scale.tsv"
fi

{
	echo "### Case 4: the control loop at scale (interval $INTERVAL_MS ms, window $WINDOW s)"
	echo
	echo "| run | in table | active (every ms) | ticks (from) | CPU per tick | sluiced's own | idle | wall p50 / p99 / max | wall from | overruns (longest gap) | lease margin min | lapses | RSS | idle RSS | B per dest | visited per tick | active computed per tick (min) | how | flow requests late |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' 'NR > 1 {
		printf "| %s | %s | %s (%s) | %s (%s) | %s us | %s us | %s us | %s / %s / %s us | %s | %s (%.0f ms) | %s ms | %s | %.1f MiB | %.1f MiB | %s | %s | %s | %s | %s |\n",
		       $1, $2, $3, $4, $5, $24, $6, $23, $7, $8, $9, $10, $11, $12, $25 / 1000, $13, $14, $15 / 1024,
		       $16 / 1024, $17, $18, $19, $20, $21 }' "$RAW"
	echo
	if [ -s "$RAWD/scale-scan.tsv" ]; then
		awk -F'\t' '{ printf "Scan: %d connects at %.0f/s (asked %s; %.0f/s with no sluice loaded), %d refused; daemon CPU %.1f%% of a core (idle %.2f%%), RSS after %.1f MiB.\n",
		       $6, $2, "'"$SCAN_RATE"'", $9, $7, $3, $5, $8 / 1024 }' "$RAWD/scale-scan.tsv"
		echo
	fi
	echo "CPU is the daemon's run time (/proc/PID/schedstat) over the window divided by"
	echo "the ticks in it; ticks, wall times and lease margins come from the lease"
	echo "(scale_load watch) unless sluiced logs its own summary. B per dest is"
	echo "(RSS - idle RSS) / entries of sluice_signals. Active computed per tick: the"
	echo "fewest active destinations one tick computed, from sluiced's visited count or"
	echo "from its -v lines in a second start. Scan rows: the daemon's CPU over the"
	echo "scan, and scaled linearly to the rate asked when the load reached less."
} >"$RESULTS/detail-scale.md"
