# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn the adaptive benchmark's raw data into tables, time series and plots.

  analyze.py OUT      (OUT: bench-results/adaptive)

Reads OUT/raw/SCENARIO-VARIANT/ (meta.env, marks.txt, sampler.csv,
ping.txt, events.json and the clients' outputs), writes OUT/csv/RUN.csv
(one row per 100 ms: goodput, sluice's rate, pressure and breaker, the
probes' RTT), OUT/*.png (gnuplot) and OUT/results.md.

Conventions:
- Times are seconds from the run's time zero, when the load starts.
- Goodput is what leaves the bottleneck, in bytes of Ethernet frames as tc
  counts them (every segment with its headers), as a share of the
  bottleneck's rate; critical goodput (surge) is TCP payload that the
  server received; under loss it is what the lossy link delivered.
- Percentiles are nearest-rank. Probe RTTs are ping's (ICMP echo every
  20 ms); a probe with no reply counts as lost, is reported apart, and is
  counted as above any latency target.
"""
import csv
import glob
import json
import math
import os
import re
import statistics
import subprocess
import sys

VARIANTS = ["sluice", "cubic", "bbr", "tbf"]
LABEL = {
    "sluice": "sluice (adaptive, cubic)",
    "cubic": "no regulator, cubic",
    "bbr": "no regulator, bbr",
    "tbf": "static tbf 92mbit, cubic",
}
COLOR = {"sluice": "#1f5fbf", "cubic": "#d62728", "bbr": "#ff9f1c", "tbf": "#2ca02c"}
P99_TARGET_MS = 5.0
INF = float("inf")


# --- loading ---------------------------------------------------------------

def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


class Run:
    def __init__(self, path):
        self.path = path
        self.meta = {}
        for line in open(os.path.join(path, "meta.env")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                self.meta[k] = v
        self.variant = self.meta["VARIANT"]
        self.scenario = self.meta["SCENARIO"]
        self.marks = {}
        for line in open(os.path.join(path, "marks.txt")):
            name, t = line.split()
            self.marks.setdefault(name, float(t))
        self.t0 = self.marks["t0"]
        self.mark = {k: v - self.t0 for k, v in self.marks.items()}
        self.rows = self._sampler()
        self.probes = self._ping("ping.txt")
        self.host_probes = self._ping("ping-host.txt")
        self.events = self._events()

    def file(self, name):
        return os.path.join(self.path, name)

    def exists(self, name):
        return os.path.exists(self.file(name))

    def _sampler(self):
        rows = []
        if not self.exists("sampler.csv"):
            return rows
        with open(self.file("sampler.csv")) as f:
            for r in csv.DictReader(f):
                if fnum(r.get("wire_bytes")) is None:
                    continue
                r = dict(r)
                r["t"] = float(r["t"]) - self.t0
                rows.append(r)
        return rows

    def _ping(self, name):
        """[(send time, rtt ms or None for lost)], sorted by send time."""
        replies, top = {}, 0
        if not self.exists(name):
            return []
        for line in open(self.file(name)):
            m = re.match(r"\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms", line)
            if m:
                ts, seq, rtt = float(m.group(1)), int(m.group(2)), float(m.group(3))
                replies.setdefault(seq, (ts - rtt / 1000 - self.t0, rtt))
                top = max(top, seq)
        if not replies:
            return []
        seqs = sorted(replies)
        out = []
        # Lost probes: send time interpolated between their answered
        # neighbours; probes after the last answered one are not judged.
        for a, b in zip(seqs, seqs[1:] + [None]):
            out.append(replies[a])
            if b is None:
                continue
            ta, tb = replies[a][0], replies[b][0]
            for s in range(a + 1, b):
                out.append((ta + (tb - ta) * (s - a) / (b - a), None))
        out.sort(key=lambda p: p[0])
        return out

    def _events(self):
        if not self.exists("events.json"):
            return []
        try:
            ev = json.load(open(self.file("events.json")))
        except ValueError:
            return []
        for e in ev:
            e["t"] = e["time_us"] / 1e6 - self.t0
        return ev

    # -- measures --------------------------------------------------------------
    def col(self, name):
        return [fnum(r.get(name)) for r in self.rows]

    def at_or_after(self, t):
        for i, r in enumerate(self.rows):
            if r["t"] >= t:
                return i
        return None

    def at_or_before(self, t):
        idx = None
        for i, r in enumerate(self.rows):
            if r["t"] <= t:
                idx = i
        return idx

    def counter_rate(self, col, a, b, scale=8e-6):
        """Mbit/s of a byte counter between the samples nearest a and b."""
        i, j = self.at_or_after(a), self.at_or_before(b)
        if i is None or j is None or j <= i:
            return None
        x, y = fnum(self.rows[i].get(col)), fnum(self.rows[j].get(col))
        if x is None or y is None:
            return None
        return (y - x) * scale / (self.rows[j]["t"] - self.rows[i]["t"])

    def wire(self, a, b):
        return self.counter_rate("wire_bytes", a, b)

    def windowed(self, col, span=2):
        """Mbit/s of a byte counter over the last `span` sampler intervals,
        per row (None for the first rows)."""
        out = []
        for i, r in enumerate(self.rows):
            if i < span:
                out.append(None)
                continue
            x, y = fnum(self.rows[i - span].get(col)), fnum(r.get(col))
            dt = r["t"] - self.rows[i - span]["t"]
            out.append(None if x is None or y is None or dt <= 0 or y < x
                       else (y - x) * 8e-6 / dt)
        return out

    def probes_in(self, a, b):
        rtts = [r for t, r in self.probes if a <= t < b and r is not None]
        lost = sum(1 for t, r in self.probes if a <= t < b and r is None)
        return rtts, lost

    def ping_stats(self, a, b):
        rtts, lost = self.probes_in(a, b)
        return {"p50": pct(rtts, 0.5), "p99": pct(rtts, 0.99), "lost": lost,
                "n": len(rtts) + lost,
                "p99_all": pct(rtts + [INF] * lost, 0.99)}

    def rate_series(self):
        return [None if v is None else v / 1e6 for v in self.col("rate_bps")]


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(q * len(v)) - 1))]


def sockperf_p99(path):
    """p99 in ms from sockperf's summary, or None if it did not finish."""
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return None
    m = re.search(r"percentile 99\.000 =\s*([\d.]+)", text)
    return float(m.group(1)) / 1000 if m else None


def iperf_retrans(path):
    try:
        j = json.load(open(path))
        return j.get("end", {}).get("sum_sent", {}).get("retransmits")
    except (OSError, ValueError):
        return None


# --- formatting --------------------------------------------------------------

def ms(v):
    if v is None:
        return "-"
    if v == INF:
        return "lost"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def mbit(v):
    return "-" if v is None else f"{v:.1f}"


def share(v, cap):
    return "-" if v is None else f"{100 * v / cap:.1f}%"


def secs(v, never=None):
    if v is None:
        return never or "never"
    return f"{v:.2f} s"


def yes(ok):
    return "**met**" if ok else "**not met**"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


# --- time series and plots ---------------------------------------------------

BREAKER_CODE = {"closed": 0, "half-open": 0.5, "half_open": 0.5, "open": 1}


def write_series(run, out_csv, ports=()):
    wire = run.windowed("wire_bytes")
    rx = {p: run.windowed(f"rx_{p}") for p in ports}
    rate = run.rate_series()
    press = run.col("pressure")
    ladder = run.col("ladder")
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "goodput_mbps", "rate_mbps", "pressure", "breaker", "ladder",
                    "ping_max_ms", "probes_lost", "backlog_pkts"] +
                   [f"rx_{p}_mbps" for p in ports])
        prev = None
        for i, r in enumerate(run.rows):
            a = prev if prev is not None else r["t"] - 0.1
            rtts, lost = run.probes_in(a, r["t"])
            prev = r["t"]
            b = r.get("breaker") or ""
            w.writerow([f"{r['t']:.3f}", fmt(wire[i]), fmt(rate[i] if rate else None),
                        fmt(press[i] if press else None),
                        "" if b == "" else BREAKER_CODE.get(b, ""),
                        fmt(ladder[i] if ladder else None),
                        fmt(max(rtts) if rtts else None), lost, r.get("backlog_pkts", "")] +
                       [fmt(rx[p][i]) for p in ports])
    if run.events:
        with open(out_csv[:-4] + "-events.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t", "kind", "new_rate_mbps", "new_breaker", "reason", "pressure",
                        "rtt_ms", "base_rtt_ms", "loss_pct", "delivered_mbps"])
            for e in run.events:
                w.writerow([f"{e['t']:.3f}", e["kind"],
                            fmt(e["new_rate_bps"] / 1e6) if "new_rate_bps" in e else "",
                            e.get("new_breaker", ""), e["reason"], e.get("pressure", ""),
                            e["rtt_us"] / 1000, e["base_rtt_us"] / 1000,
                            e["loss_permille"] / 10, fmt(e["delivered_bps"] / 1e6)])
    pings = out_csv[:-4] + "-ping.csv"
    with open(pings, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_sent", "rtt_ms", "lost"])
        for t, r in run.probes:
            w.writerow([f"{t:.3f}", "" if r is None else r, 1 if r is None else 0])


def fmt(v):
    return "" if v is None else f"{v:.4g}"


def plot(out_dir, key, title, runs, marks, goodput_col="goodput_mbps",
         goodput_label="goodput", rate_max=160):
    """Three panels: rates, sluice's pressure and breaker, probe RTT."""
    png = os.path.join(out_dir, f"{key}.png")
    csvs = {v: os.path.join(out_dir, "csv", f"{key}-{v}.csv") for v in runs}
    pings = {v: os.path.join(out_dir, "csv", f"{key}-{v}-ping.csv") for v in runs}
    xmax = max((r.rows[-1]["t"] for r in runs.values() if r.rows), default=20)
    g = [
        'set terminal pngcairo size 1200,1000 font ",10"',
        f'set output "{png}"',
        'set datafile separator ","',
        'set datafile missing ""',
        "set key outside right top vertical",
        "set grid",
        f"set xrange [0:{xmax:.1f}]",
        "set lmargin 10",
        "set rmargin 34",
        "set multiplot layout 3,1 title " + json.dumps(title) + ' font ",12"',
    ]
    for name, t in marks:
        g.append(f'set arrow from {t:.3f}, graph 0 to {t:.3f}, graph 1 nohead dt 2 lc "gray40"')
        g.append(f'set label "{name}" at {t:.3f}, graph 0.97 left offset 0.3,0 font ",9" tc "gray30"')
    # 1: rates
    g.append(f'set ylabel "Mbit/s"; set yrange [0:{rate_max}]')
    parts = []
    if "sluice" in runs:
        parts.append(f'"{csvs["sluice"]}" using "t":"rate_mbps" with steps lw 2 '
                     f'lc "#0b2e6b" title "sluice: its rate (clipped at {rate_max})"')
    for v in runs:
        parts.append(f'"{csvs[v]}" using "t":"{goodput_col}" with lines '
                     f'lw {2 if v == "sluice" else 1.2} lc "{COLOR[v]}" '
                     f'title "{goodput_label}: {LABEL[v]}"')
    g.append("plot " + ", \\\n  ".join(parts))
    # 2: pressure and breaker
    g.append('set ylabel "pressure"; set yrange [-0.05:1.1]')
    if "sluice" in runs:
        g.append(f'plot "{csvs["sluice"]}" using "t":"pressure" with lines lw 2 '
                 f'lc "{COLOR["sluice"]}" title "sluice: pressure", \\\n'
                 f'  "{csvs["sluice"]}" using "t":"breaker" with steps lw 2 lc "black" '
                 'title "breaker (0 closed, .5 half-open, 1 open)", \\\n'
                 f'  "{csvs["sluice"]}" using "t":(column("ladder")/3) with steps lw 1 '
                 'lc "purple" dt 3 title "ladder step / 3"')
    else:
        g.append("unset key; plot 0 notitle; set key")
    # 3: RTT
    g.append("unset arrow; unset label")
    for name, t in marks:
        g.append(f'set arrow from {t:.3f}, graph 0 to {t:.3f}, graph 1 nohead dt 2 lc "gray40"')
    g.append('set ylabel "probe RTT (ms)"; set xlabel "seconds"; set logscale y; '
             'set yrange [0.03:5000]')
    parts = [f"{P99_TARGET_MS} with lines lw 1 dt 4 lc \"black\" title \"5 ms\""]
    events = os.path.join(out_dir, "csv", f"{key}-sluice-events.csv")
    if "sluice" in runs and os.path.exists(events):
        parts.append(f'"{events}" using "t":(column("rtt_ms") > 0 ? column("rtt_ms") : NaN)'
                     ' with points pt 6 ps 0.8 lc "black" '
                     'title "sluice: RTT its controller used"')
    for v in runs:
        parts.append(f'"{pings[v]}" using "t_sent":"rtt_ms" with points pt 7 ps 0.25 '
                     f'lc "{COLOR[v]}" title "ping: {LABEL[v]}"')
        parts.append(f'"{pings[v]}" using "t_sent":(column("lost") > 0 ? 3000 : NaN) '
                     f'with points pt 2 ps 0.6 lc "{COLOR[v]}" notitle')
    g.append("plot " + ", \\\n  ".join(parts))
    g.append("unset multiplot")
    script = os.path.join(out_dir, "csv", f"{key}.gp")
    with open(script, "w") as f:
        f.write("\n".join(g) + "\n")
    p = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"analyze: gnuplot {script}: {p.stderr.strip()}", file=sys.stderr)
        return None
    return os.path.basename(png)


# --- scenarios ----------------------------------------------------------------

CAP = 100.0


def sec_flows(runs, flows):
    rows, res = [], {}
    for v, r in runs.items():
        a, b = r.mark.get("window_start", 5), r.mark.get("window_end", 19.5)
        ps = r.ping_stats(a, b)
        sp = sockperf_p99(r.file("sockperf.txt"))
        gp = r.wire(a, b)
        ok = (ps["p99_all"] is not None and ps["p99_all"] <= P99_TARGET_MS and
              sp is not None and sp <= P99_TARGET_MS and gp is not None and gp >= 0.95 * CAP)
        host = pct([rtt for t, rtt in r.host_probes if a <= t < b and rtt is not None], 0.99)
        res[v] = {"ping": ps, "sockperf_p99": sp, "goodput": gp, "met": ok,
                  "retrans": iperf_retrans(r.file("iperf.json")), "host_p99": host}
        rows.append([LABEL[v], ms(ps["p50"]), ms(ps["p99"]),
                     f"{ps['lost']} of {ps['n']}", ms(sp) if sp is not None else "did not finish",
                     mbit(gp), share(gp, CAP), res[v]["retrans"], ms(host), yes(ok)])
    head = ["sender", "ping p50 (ms)", "ping p99 (ms)", "probes lost", "sockperf p99 (ms)",
            "goodput (Mbit/s)", "of bottleneck", "retransmits",
            "ping p99 to the router's near side, no bottleneck on the way (ms)",
            "p99 <= 5 ms and goodput >= 95%"]
    return table(head, rows), res


def sliding_p99(r, a, b, window=0.2):
    """[(t, p99 of the probes sent in (t - window, t])] at each probe sent
    in [a, b); lost probes count as late."""
    out = []
    for t in (t for t, _ in r.probes if a <= t < b):
        rtts, lost = r.probes_in(t - window, t + 1e-9)
        out.append((t, pct(rtts + [INF] * lost, 0.99)))
    return out


def settle_time(r, a, b, window=0.2):
    """After a step at a: when the sliding p99 (window s) stays under the
    target until b. 0 if it never exceeded it, None if it is still above
    it in the last half second before b. Also: when it first went under,
    and the share of windows above the target after that."""
    sl = sliding_p99(r, a, b, window)
    bad = [t for t, p in sl if p is None or p > P99_TARGET_MS]
    first_under = next((t - a for t, p in sl if p is not None and p <= P99_TARGET_MS), None)
    later = [p for t, p in sl if first_under is not None and t - a >= first_under]
    above = (sum(1 for p in later if p is None or p > P99_TARGET_MS) / len(later)
             if later else None)
    worst = max((p for p in later if p is not None), default=None)
    if not bad:
        settle = 0.0
    elif bad[-1] > b - 0.5:
        settle = None
    else:
        settle = bad[-1] - a
    return settle, first_under, above, worst


def time_to_util(r, a, b, frac, cap):
    """First row after a whose last 200 ms carried >= frac x cap."""
    w = r.windowed("wire_bytes")
    for i, row in enumerate(r.rows):
        if row["t"] >= a + 0.2 and row["t"] <= b and w[i] is not None and w[i] >= frac * cap:
            return row["t"] - a
    return None


def sec_step(runs):
    rows, res = [], {}
    for v, r in runs.items():
        down, up = r.mark["step_down"], r.mark["step_up"]
        end = r.mark["end"]
        before = r.ping_stats(4, down)
        settle, first_under, above, worst = settle_time(r, down, up)
        during = r.ping_stats(down + 1.5, up)
        gp50 = r.wire(down + 1.5, up)
        t90 = time_to_util(r, up, end, 0.9, CAP)
        gp100 = r.wire(up + 1.5, end - 0.3)
        ok = settle is not None and settle <= 0.3 and t90 is not None and t90 <= 1.5
        res[v] = {"settle": settle, "t90": t90, "met": ok, "p99_before": before["p99"],
                  "p99_during": during["p99"], "gp50": gp50, "gp100": gp100,
                  "first_under": first_under, "above_after": above, "worst_after": worst}
        under = ("never" if first_under is None else
                 f"{first_under:.2f} s; then {100 * above:.0f}% of windows above 5 ms "
                 f"(worst {ms(worst)} ms)")
        rows.append([LABEL[v], ms(before["p99"]),
                     secs(settle, "not within 8 s"), under, ms(during["p99"]), share(gp50, 50),
                     secs(t90, "not within 8 s"), share(gp100, CAP), yes(ok)])
    head = ["sender", "p99 before (ms)",
            "step down: 200 ms p99 under 5 ms for good after (target 0.3 s)",
            "200 ms p99 first under 5 ms after", "p99 at 50 Mbit/s, from 1.5 s after the step (ms)", "goodput at 50 Mbit/s",
            "step up: 90% utilisation after (target 1.5 s)", "goodput after the step up",
            "both targets"]
    return table(head, rows), res


def sec_surge(runs):
    rows, res = [], {}
    for v, r in runs.items():
        s = r.mark["surge_start"]
        alone = (3.0, s)
        surge = (s + 0.5, s + 9.5)
        ca = r.counter_rate("rx_5201", *alone)
        cs = r.counter_rate("rx_5201", *surge)
        w = r.windowed("rx_5201", span=5)
        dips = [w[i] for i, row in enumerate(r.rows)
                if s + 0.5 <= row["t"] <= s + 9.5 and w[i] is not None]
        dip = min(dips) if dips else None
        sh = r.counter_rate("rx_5202", *surge)
        total = r.wire(*surge)
        pa, psg = r.ping_stats(*alone), r.ping_stats(*surge)
        spa = sockperf_p99(r.file("sockperf-alone.txt"))
        sps = sockperf_p99(r.file("sockperf-surge.txt"))
        gp_ok = ca and cs is not None and cs >= 0.9 * ca
        p99_ok = (pa["p99_all"] is not None and psg["p99_all"] is not None and
                  psg["p99_all"] <= 1.1 * pa["p99_all"])
        ok = bool(gp_ok and p99_ok)
        res[v] = {"crit_alone": ca, "crit_surge": cs, "crit_dip": dip, "shed": sh,
                  "total": total,
                  "p99_alone": pa["p99_all"], "p99_surge": psg["p99_all"],
                  "sp_alone": spa, "sp_surge": sps, "met": ok, "gp_ok": gp_ok,
                  "p99_ok": p99_ok}
        ratio = f"{100 * cs / ca:.0f}%" if ca and cs is not None else "-"
        rows.append([LABEL[v], mbit(ca), mbit(cs), ratio, mbit(dip), ms(pa["p99_all"]),
                     ms(psg["p99_all"]),
                     f"{ms(spa) if spa is not None else 'did not finish'} / "
                     f"{ms(sps) if sps is not None else 'did not finish'}",
                     mbit(sh), share(total, CAP), yes(ok)])
    head = ["sender", "critical goodput alone (Mbit/s)", "with the surge",
            "with / alone (target >= 90%)", "lowest 0.5 s during the surge",
            "critical ping p99 alone (ms)", "with the surge (target <= 110%)",
            "critical sockperf p99 alone / surge (ms)", "sheddable goodput (Mbit/s)",
            "bottleneck used during the surge", "both targets"]
    return table(head, rows), res


def first_event(r, after, pred):
    for e in sorted(r.events, key=lambda e: e["t"]):
        if e["t"] >= after and pred(e):
            return e
    return None


def connect_outcomes(r, a, b):
    counts = {}
    first_ok = None
    try:
        lines = open(r.file("connects.txt")).read().split("\n")
    except OSError:
        return counts, None
    for line in lines:
        f = line.split()
        if len(f) < 2:
            continue
        t = float(f[0]) - r.t0
        if a <= t < b:
            counts[f[1]] = counts.get(f[1], 0) + 1
        if t >= b and f[1] == "ok" and first_ok is None:
            first_ok = t - b
    return counts, first_ok


def sec_blackhole(runs):
    rows, res = [], {}
    for v, r in runs.items():
        bh, heal = r.mark["blackhole"], r.mark["heal"]
        pre = r.wire(bh - 2, bh)
        opened = first_event(r, bh - 0.05, lambda e: e["kind"] == "breaker" and
                             e.get("new_breaker") == "open")
        t_open = opened["t"] - bh if opened else None
        closed = first_event(r, heal, lambda e: e["kind"] == "breaker" and
                             e.get("new_breaker") == "closed")
        t_closed = closed["t"] - heal if closed else None
        rates = [(row["t"], fnum(row.get("rate_bps"))) for row in r.rows]
        good = [x for t, x in rates if bh - 1 <= t < bh and x]
        good_rate = statistics.median(good) if good else None
        t_rate = None
        if good_rate:
            for t, x in rates:
                if t >= heal and x is not None and x >= 0.9 * good_rate:
                    t_rate = t - heal
                    break
        w = r.windowed("wire_bytes")
        t_gp = None
        if pre:
            for i, row in enumerate(r.rows):
                if row["t"] >= heal + 0.2 and w[i] is not None and w[i] >= 0.9 * pre:
                    t_gp = row["t"] - heal
                    break
        counts, first_ok = connect_outcomes(r, bh, heal)
        if v == "sluice":
            ok = t_open is not None and t_open <= 1 and t_rate is not None and t_rate <= 3
            met = yes(ok)
        else:
            ok, met = None, "n/a (no breaker)"
        res[v] = {"pre": pre, "t_open": t_open, "t_closed": t_closed, "good_rate": good_rate,
                  "t_rate": t_rate, "t_gp": t_gp, "connects": counts, "first_ok": first_ok,
                  "met": ok, "open_reason": opened.get("reason") if opened else None}
        cs = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "-"
        rows.append([LABEL[v], mbit(pre),
                     (f"{secs(t_open)} ({opened['reason']})" if opened else
                      ("never" if v == "sluice" else "-")),
                     secs(t_closed, "not closed" if v == "sluice" else "-"),
                     (f"{secs(t_rate, 'not within 8 s')} (to {0.9 * good_rate / 1e6:.1f} Mbit/s)"
                      if good_rate else "-"),
                     secs(t_gp, "not within 8 s"), cs, secs(first_ok, "none"), met])
    head = ["sender", "goodput before (Mbit/s)", "breaker opens after (target <= 1 s)",
            "breaker closes after the heal", "rate back to 90% after the heal (target <= 3 s)",
            "goodput back to 90% after the heal", "connects during the blackhole",
            "first good connect after the heal", "both targets"]
    return table(head, rows), res


def loss_window(r):
    try:
        lines = [l.split() for l in open(r.file("loss-counters.txt")) if l.strip()]
    except OSError:
        return None
    if len(lines) < 2:
        return None
    a, b = [list(map(float, x)) for x in lines[:2]]
    dt = b[0] - a[0]
    passed, pbytes, dropped = b[1] - a[1], b[2] - a[2], b[3] - a[3]
    return {"delivered": pbytes * 8e-6 / dt, "loss": dropped / max(1, passed + dropped),
            "gso": b[5] - a[5], "a": a[0] - r.t0, "b": b[0] - r.t0}


def sec_loss(runs):
    rows, res = [], {}
    for v, r in runs.items():
        lw = loss_window(r)
        a, b = (lw["a"], lw["b"]) if lw else (5, 19.5)
        wire = r.wire(a, b)
        opens = [e for e in r.events if e["kind"] == "breaker" and e.get("new_breaker") == "open"]
        not_closed = sum(1 for row in r.rows if row.get("breaker") not in (None, "", "closed"))
        ps = r.ping_stats(a, b)
        rt = iperf_retrans(r.file("iperf.json"))
        dl = lw["delivered"] if lw else None
        if v == "sluice":
            ok = not opens and not_closed == 0 and dl is not None and dl >= 0.9 * CAP
        else:
            ok = dl is not None and dl >= 0.9 * CAP
        res[v] = {"delivered": dl, "wire": wire, "loss": lw["loss"] if lw else None,
                  "opens": len(opens), "not_closed_samples": not_closed, "retrans": rt,
                  "p99": ps["p99"], "met": ok, "gso": lw["gso"] if lw else None}
        rows.append([LABEL[v], f"{100 * lw['loss']:.2f}%" if lw else "-", mbit(dl),
                     share(dl, CAP), rt,
                     (f"{len(opens)}" + (f" ({not_closed} samples not closed)" if not_closed else ""))
                     if v == "sluice" else "n/a", ms(ps["p99"]), yes(ok)])
    head = ["sender", "packets dropped by the lossy link", "goodput delivered (Mbit/s)",
            "of bottleneck (target >= 90%)", "retransmits", "breaker openings (target 0)",
            "ping p99 (ms)", "targets"]
    return table(head, rows), res


def stall_marks(r):
    m = {}
    try:
        for line in open(r.file("stall.txt")):
            k, t = line.split()
            m[k] = float(t) - r.t0
    except OSError:
        pass
    return m


def sec_stall(runs):
    rows, res = [], {}
    for v, r in runs.items():
        sm = stall_marks(r)
        s, e = sm.get("stall_start"), sm.get("stall_end")
        bulk = {}
        try:
            bulk = json.loads(open(r.file("bulk.json")).read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            pass
        retr = bulk.get("total_retrans")
        dsack = bulk.get("dsack_dups")
        when = []
        try:
            prev = 0
            for line in open(r.file("bulk-trace.txt")):
                f = line.split()
                n = int(f[1])
                if n > prev and s is not None:
                    t = float(f[0]) - r.t0
                    ref = (f"{t - s:+.1f} s from the stall" if e is None or t < e else
                           f"{t - e:+.1f} s after it")
                    when.append(f"{n - prev} at {ref}")
                prev = max(prev, n)
        except (OSError, ValueError, IndexError):
            pass
        t_p = t_r = rate0 = p0 = pmax = rmin = None
        drops = None
        if v == "sluice" and s is not None:
            i0 = r.at_or_before(s)
            rate0 = fnum(r.rows[i0].get("rate_bps")) if i0 is not None else None
            p0 = fnum(r.rows[i0].get("pressure")) if i0 is not None else None
            seg = [row for row in r.rows if s < row["t"] <= e]
            for row in seg:
                p, x = fnum(row.get("pressure")), fnum(row.get("rate_bps"))
                if t_p is None and p is not None and p0 is not None and p >= p0 + 0.2:
                    t_p = row["t"] - s
                if t_r is None and x is not None and rate0 and x <= 0.9 * rate0:
                    t_r = row["t"] - s
            ps_ = [fnum(row.get("pressure")) for row in seg if fnum(row.get("pressure")) is not None]
            rs_ = [fnum(row.get("rate_bps")) for row in seg if fnum(row.get("rate_bps")) is not None]
            pmax = max(ps_) if ps_ else None
            rmin = min(rs_) if rs_ else None
            d = [fnum(row.get("dropped_pkts")) for row in r.rows
                 if fnum(row.get("dropped_pkts")) is not None]
            drops = (d[-1] - d[0]) if d else None
        ping = r.ping_stats(s + 0.5, e) if s is not None else {"p99": None}
        gp_before = r.wire(1.0, s) if s is not None else None
        # After the receiver reads again: when the goodput is back to 90%
        # of what it was before the stall.
        t_back = None
        if gp_before and e is not None:
            w = r.windowed("wire_bytes")
            for i, row in enumerate(r.rows):
                if row["t"] >= e + 0.2 and w[i] is not None and w[i] >= 0.9 * gp_before:
                    t_back = row["t"] - e
                    break
        gp_after = r.wire(e, e + 3) if e is not None else None
        # A retransmission the receiver reports as a duplicate (D-SACK)
        # replaced nothing that was lost: losses are the others.
        lost = None if retr is None else max(0, retr - (dsack or 0))
        if v == "sluice":
            ok = (t_p is not None and t_p <= 1 and t_r is not None and t_r <= 1 and
                  lost == 0 and not drops)
            met = yes(ok)
        else:
            ok = lost == 0
            met = ("no loss: " + yes(ok)) if retr is not None else "-"
        res[v] = {"t_pressure": t_p, "t_rate": t_r, "rate0": rate0, "p0": p0, "pmax": pmax,
                  "rmin": rmin, "retrans": retr, "drops": drops, "met": ok,
                  "p99": ping["p99"], "gp_before": gp_before, "t_back": t_back,
                  "gp_after": gp_after, "dsack": dsack, "retrans_when": when, "lost": lost}
        rows.append([LABEL[v], mbit(gp_before),
                     (f"{p0:.2f} -> max {pmax:.2f}, +0.2 after {secs(t_p)}"
                      if v == "sluice" and p0 is not None and pmax is not None else "n/a"),
                     (f"{rate0 / 1e6:.1f} -> min {rmin / 1e6:.1f} Mbit/s, -10% after {secs(t_r)}"
                      if v == "sluice" and rate0 and rmin is not None else "n/a"),
                     "-" if retr is None else (f"{retr}" + (f" ({', '.join(when)}; "
                                                            f"{dsack} D-SACKed)" if retr else "")),
                     "-" if drops is None else int(drops), ms(ping["p99"]),
                     secs(t_back, "not within 5 s"), mbit(gp_after), met])
    head = ["sender", "goodput before the stall (Mbit/s)",
            "pressure at the stall -> during it (target: up within 1 s)",
            "rate at the stall -> during it (target: down within 1 s)",
            "retransmits (target: none that was not D-SACKed)", "bucket drops",
            "ping p99 during the stall (ms)",
            "goodput back to 90% after the receiver reads again",
            "goodput in the 3 s after (Mbit/s)", "targets"]
    return table(head, rows), res


# --- main ----------------------------------------------------------------------

SCEN = [
    # key, raw scenario name, title, goodput column, marks, ports
    ("flows16", "16 cubic flows into a 100 Mbit/s bottleneck (pfifo 1000)", ()),
    ("flows64", "64 cubic flows into a 100 Mbit/s bottleneck (pfifo 1000)", ()),
    ("step", "Capacity step: 100 -> 50 Mbit/s at 8 s, back to 100 at 16 s (16 cubic flows)", ()),
    ("surge", "12x sheddable surge (DSCP 10) beside critical traffic (DSCP 46, 30 Mbit/s)",
     (5201, 5202)),
    ("blackhole", "Blackhole from 6 s to 10 s (16 cubic flows, a connect per request)", ()),
    ("loss", "1% random loss behind the bottleneck (16 cubic flows)", ()),
    ("stall", "The receiver stops reading for 5 s (one flow)", ()),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench-results/adaptive"
    raw = os.path.join(out, "raw")
    os.makedirs(os.path.join(out, "csv"), exist_ok=True)
    runs = {}
    for d in sorted(glob.glob(os.path.join(raw, "*-*"))):
        if not os.path.exists(os.path.join(d, "meta.env")) or \
                not os.path.exists(os.path.join(d, "marks.txt")):
            continue
        try:
            r = Run(d)
        except (OSError, KeyError, ValueError) as e:
            print(f"analyze: skipping {d}: {e}", file=sys.stderr)
            continue
        runs.setdefault(r.scenario, {})[r.variant] = r

    md = ["# sluice adaptive benchmark results", ""]
    try:
        info = open(os.path.join(raw, "run.txt")).read().strip().splitlines()
        md += [f"- {line}" for line in info]
    except OSError:
        pass
    md += [
        "- lab: client -> router -> server in network namespaces; the router's link toward "
        "the server is an htb at 100 Mbit/s with a pfifo of 1000 packets (GRO and TSO on: "
        "the queue holds GSO packets of up to 64 KB)",
        "- sluice: sluiced with the default adaptive policy (`max = 1gbit`, gradient "
        "controller, floor 10 Mbit/s), 100 ms interval, on the client's c0 and a child "
        "cgroup holding the clients; cubic flows",
        "- baselines, in the same run, each in a fresh lab: no regulator with cubic; no "
        "regulator with bbr (`-C bbr`); a static tbf on the client's c0 (`tbf rate 92mbit "
        "burst 64kb latency 20ms`) with cubic",
        "- probes: ping every 20 ms from the client namespace (lost probes count as late); "
        "sockperf TCP ping-pong at 50/s from the client cgroup, round-trip times (`--full-rtt`); "
        "and ping every 20 ms to the router's near side, which crosses no bottleneck: "
        "the client side's own delay under the load (flows tables)",
        "- goodput: bytes leaving the bottleneck as tc counts them (frames with headers), "
        "unless a table says otherwise",
        "",
        "- one run per sender and scenario: on this 2-core VM, repeated runs of the same "
        "scenario can differ widely (see docs/BENCHMARKS_ADAPTIVE.md)",
        "",
        "How each scenario is run and measured: docs/BENCHMARKS_ADAPTIVE.md. Time series: "
        "csv/ (100 ms rows); raw data: raw/.",
        "",
    ]
    summary = []
    sections = []
    sections_runs = {}
    for key, title, ports in SCEN:
        got = runs.get(key)
        if not got:
            continue
        got = {v: got[v] for v in VARIANTS if v in got}
        sections_runs[key] = got
        for v, r in got.items():
            write_series(r, os.path.join(out, "csv", f"{key}-{v}.csv"), ports)
        any_run = got.get("sluice") or next(iter(got.values()))
        marks = []
        if key == "step":
            marks = [("50 Mbit/s", any_run.mark["step_down"]), ("100 Mbit/s", any_run.mark["step_up"])]
        elif key == "surge":
            marks = [("surge", any_run.mark["surge_start"])]
        elif key == "blackhole":
            marks = [("blackhole", any_run.mark["blackhole"]), ("heal", any_run.mark["heal"])]
        elif key == "stall":
            sm = stall_marks(any_run)
            marks = [(k.replace("_", " "), t) for k, t in sm.items() if k.startswith("stall")]
        elif key.startswith("flows"):
            marks = [("probes from here", any_run.mark.get("window_start", 5))]
        if key == "surge":
            png = plot(out, key, title, got, marks, goodput_col="rx_5201_mbps",
                       goodput_label="critical goodput")
        else:
            png = plot(out, key, title, got, marks)
        if key.startswith("flows"):
            tab, res = sec_flows(got, int(key[5:]))
        else:
            tab, res = {"step": sec_step, "surge": sec_surge, "blackhole": sec_blackhole,
                        "loss": sec_loss, "stall": sec_stall}[key](got)
        json.dump(res, open(os.path.join(out, "csv", f"{key}-summary.json"), "w"), indent=1,
                  default=str)
        s = res.get("sluice")
        sections.append((key, title, tab, png, res))
        if s is not None:
            summary.append((key, title, s))

    md.append("## Summary: sluice against each target")
    md.append("")
    md.append(summary_table(summary))
    md.append("")
    for key, title, tab, png, res in sections:
        md.append(f"## {title}")
        md.append("")
        first = next(iter(sections_runs[key].values()), None)
        if first is not None and first.meta.get("DATE"):
            md.append(f"Measured {first.meta['DATE']} (load average {first.meta.get('LOAD', '?')} "
                      "at the start of the first sender's run).")
            md.append("")
        md.append(tab)
        md.append("")
        if png:
            md.append(f"Plot: [{png}]({png}) (top: rates; middle: sluice's pressure, breaker "
                      "and ladder; bottom: every ping's RTT by send time, lost probes as "
                      "crosses at 3 s, and as black circles the RTT sluice's controller "
                      "acted on at each of its decisions).")
            md.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return 0


def target_rows(key, s):
    """sluice's result of one scenario against each of its targets:
    (scenario, target, what was measured, met, the number it is judged by
    or None)."""
    rows = []
    if key.startswith("flows"):
        sp = s["sockperf_p99"]
        rows.append((f"{key[5:]} cubic flows", "p99 <= 5 ms with goodput >= 95%",
                     f"ping p99 {ms(s['ping']['p99_all'])} ms"
                     + (f" (to the router's near side: {ms(s['host_p99'])} ms)"
                        if s.get("host_p99") is not None else "")
                     + ", sockperf p99 "
                     f"{ms(sp) if sp is not None else 'did not finish'} ms, "
                     f"goodput {share(s['goodput'], CAP)}", s["met"], s["ping"]["p99_all"]))
    elif key == "step":
        rows.append(("capacity -50%", "p99 back under 5 ms within 0.3 s",
                     f"for good: {secs(s['settle'], 'not within 8 s')}; first under 5 ms "
                     f"after {secs(s['first_under'])}",
                     s["settle"] is not None and s["settle"] <= 0.3, s["settle"]))
        rows.append(("capacity +100%", "90% utilisation within 1.5 s",
                     secs(s["t90"], "not within 8 s"),
                     s["t90"] is not None and s["t90"] <= 1.5, s["t90"]))
    elif key == "surge":
        ca, cs = s["crit_alone"], s["crit_surge"]
        rows.append(("12x sheddable surge", "critical goodput within 10%",
                     f"{mbit(ca)} -> {mbit(cs)} Mbit/s (lowest 0.5 s: {mbit(s['crit_dip'])})",
                     bool(s["gp_ok"]), cs / ca if ca and cs is not None else None))
        pa, psg = s["p99_alone"], s["p99_surge"]
        rows.append(("12x sheddable surge", "critical p99 within 10%",
                     f"{ms(pa)} -> {ms(psg)} ms", bool(s["p99_ok"]),
                     psg / pa if pa and psg is not None else None))
    elif key == "blackhole":
        rows.append(("blackhole", "breaker open within 1 s", secs(s["t_open"]),
                     s["t_open"] is not None and s["t_open"] <= 1, s["t_open"]))
        rows.append(("heal", "rate back to 90% of the last good rate within 3 s",
                     secs(s["t_rate"], "not within 8 s"),
                     s["t_rate"] is not None and s["t_rate"] <= 3, s["t_rate"]))
    elif key == "loss":
        rows.append(("1% random loss", "no breaker opening over 20 s",
                     f"{s['opens']} opening{'' if s['opens'] == 1 else 's'}",
                     s["opens"] == 0 and s["not_closed_samples"] == 0, s["opens"]))
        d = s["delivered"]
        rows.append(("1% random loss", "goodput >= 90%", share(d, CAP),
                     d is not None and d >= 0.9 * CAP, d / CAP if d is not None else None))
    elif key == "stall":
        rows.append(("receiver stops reading", "pressure up and rate down within 1 s",
                     f"pressure +0.2 after {secs(s['t_pressure'])}, rate -10% after "
                     f"{secs(s['t_rate'])}",
                     s["t_pressure"] is not None and s["t_pressure"] <= 1 and
                     s["t_rate"] is not None and s["t_rate"] <= 1, s["t_rate"]))
        rows.append(("receiver stops reading", "no loss",
                     f"{s['retrans']} retransmits ({s['dsack']} of them D-SACKed, "
                     f"so not losses), "
                     f"{'-' if s['drops'] is None else int(s['drops'])} bucket drops",
                     s["lost"] == 0 and not s["drops"], s["lost"]))
    return rows


def summary_table(summary):
    rows = [[scen, target, text, yes(met)]
            for key, title, s in summary
            for scen, target, text, met, _ in target_rows(key, s)]
    return table(["scenario", "target", "sluice", "met?"], rows)


if __name__ == "__main__":
    sys.exit(main())
