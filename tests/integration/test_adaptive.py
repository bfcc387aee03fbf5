# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Adaptive backpressure against a congested downstream.

The lab's router holds the link toward the server to 100 Mbit/s with a
1000-packet FIFO behind it: a downstream that queues. Unregulated, 16 cubic
flows push a probe's latency through that queue past a second here (see
shared notes, platform.md). With sluice's default adaptive policy the probe
latency must stay short while the link stays busy (85% of it, as far as a
rate pinned just below it fills it in the same run); when the link halves,
the rate must follow; when the server goes away, the breaker must open and
connects fail fast, and close again when it returns.
"""
import json
import re
import socket
import subprocess
import time

import pytest

import sluice_lab

BOTTLENECK_MBPS = 100
GOODPUT_FLOOR = 0.85  # of the bottleneck, as far as this host fills it
PROBE_PORT = 11111
PINNED_MBPS = 95  # the baseline's fixed rate, just below the link


@pytest.fixture
def congested(requirements, tmp_path):
    """A harness whose router queues toward the server at 100 Mbit/s, with
    sluiced running and an iperf3 server listening."""
    h = sluice_lab.Harness(tmp_path)
    h.lab.bottleneck = f"{BOTTLENECK_MBPS}mbit"
    try:
        h.up()
        h.start_daemon()
        h.iperf_server()
        yield h
    finally:
        h.close()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ping_rtts(h, seconds, interval=0.05):
    """Ping the server from the client namespace; the RTTs in ms."""
    count = int(seconds / interval)
    out = h.lab.exec_in(h.lab.ns_c, "ping", "-n", "-i", str(interval), "-c", str(count),
                        "-W", "2", h.lab.server_ip, check=False, timeout=seconds + 30).stdout
    return [float(m) for m in re.findall(r"time=([\d.]+)", out)]


def sockperf_p99_ms(h, seconds):
    """A TCP ping-pong through the bottleneck (sockperf), its p99 in ms, or
    None when it could not finish (it gives up when latency reaches seconds)."""
    server = subprocess.Popen(["ip", "netns", "exec", h.lab.ns_s, "sockperf", "sr", "--tcp",
                               "-i", h.lab.server_ip, "-p", str(PROBE_PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.procs.append(server)
    time.sleep(0.3)
    client = h.spawn_client("sockperf", "pp", "--tcp", "--full-rtt", "-i", h.lab.server_ip, "-p",
                            str(PROBE_PORT), "-t", str(seconds), "--mps", "50",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = client.communicate(timeout=seconds + 30)
    h.procs.remove(client)
    m = re.search(r"percentile 99\.000 =\s*([\d.]+)", out)
    return float(m.group(1)) / 1000 if m else None


def start_with_classes(h, tmp_path, classes):
    """sluiced with the default adaptive policy for the server and these
    [class] sections, from a config file."""
    conf = tmp_path / "sluice.conf"
    conf.write_text(
        f"[sluice]\ninterface = {h.lab.env['IF_C']}\ncgroup = {h.cgroup}\n\n"
        f"[policy server]\nprefix = {h.lab.server_ip}/32\nmax = 1gbit\n\n" + classes)
    h.start_daemon(config=conf)


def sixteen_flows(h, seconds, warmup, during, port=sluice_lab.IPERF_PORT):
    """16 cubic flows to the server for `seconds`: the goodput from `warmup`
    s after their data starts to flow, over what during(h) takes, and what
    during(h) returned."""
    flows = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(port),
                           "-t", str(seconds), "-C", "cubic", "-P", "16",
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = h.flow_start(flows)
    time.sleep(max(0, t0 + warmup - time.monotonic()))
    first = h.meter.sample()
    got = during(h)
    last = h.meter.sample()
    rc = flows.wait(timeout=seconds + 30)
    h.procs.remove(flows)
    assert rc == 0, f"iperf3 -P 16 exited with {rc}"
    return sluice_lab.rate_between(first, last), got


def probe_latency(h):
    """ping for 5 s (250 probes: a p99, not the maximum), then a sockperf
    ping-pong for 5 s: their RTTs in ms, and sockperf's p99."""
    return ping_rtts(h, 5, interval=0.02), sockperf_p99_ms(h, 5)


# Reasons whose decision never raises the rate: the cuts, and "watch"
# (a queue seen, the rate kept until it stands).
NEVER_RAISE = {"delay", "loss", "rto", "ecn", "rwnd", "watch"}


def assert_rate_events_explain(events):
    """The decision log of a busy run reads as a story: each rate event
    starts where the one before it ended, a cut (or a watch) never raises
    the rate and a probe never lowers it: small steps are logged together,
    and a decision of another reason first logs where they took the rate,
    at the time it was decided.
    (Logged from the last event's rate instead, a delay cut from an
    unlogged probe read as a rise: 19 of 91 events in a bench run.)"""
    rates = [e for e in events if e["kind"] == "rate"]
    assert len(rates) > 10, f"{len(rates)} rate events in a 16 s run"
    for before, e in zip(rates, rates[1:]):
        assert e["old_rate_bps"] == before["new_rate_bps"], (
            f"event {e['seq']} starts at {e['old_rate_bps']}, the one before "
            f"ended at {before['new_rate_bps']}")
        # One decision an interval (100 ms): a logged step that was
        # decided earlier carries the time it was decided.
        assert e["time_us"] - before["time_us"] >= 50000, (
            f"events {before['seq']} and {e['seq']} {e['time_us'] - before['time_us']} us apart")
    for e in rates:
        old, new = e["old_rate_bps"], e["new_rate_bps"]
        assert not (e["reason"] in NEVER_RAISE and new > old), f"{e['reason']} raised the rate: {e}"
        assert not (e["reason"] == "probe" and new < old), f"a probe lowered the rate: {e}"


def sixteen_flows_trial(h, ports):
    """One trial: 16 flows under the adaptive policy between two runs of a
    rate pinned just below the link. What the pinned runs deliver is what
    this machine lets any rate deliver now; a busy or virtualised host
    delivers less than a quiet one, and this one right after a build
    delivers 10-15% less for a minute or so: the lower of the two is what
    the host allowed while the law ran between them. Returns what failed
    (empty when nothing did)."""
    server = f"{h.lab.server_ip}/32"
    h.ctl("policy", "add", server, "rate", f"{PINNED_MBPS}mbit")
    h.iperf_server(port=ports[0])
    pinned_before, _ = sixteen_flows(h, 10, 3, lambda h: time.sleep(6), port=ports[0])
    # The decision log of this trial's adaptive run: the events after these.
    seen = max((e["seq"] for e in h.ctl("events", "-n", "1000", json_out=True)), default=-1)
    h.ctl("policy", "add", server, "max", "1gbit")
    # The controller's first 3 s: from the ceiling down.
    goodput, (rtts, probe_p99) = sixteen_flows(h, 16, 3, probe_latency, port=ports[1])
    shown = h.dest(h.lab.server_ip)
    why = (shown.get("override") or {}).get("reason_text")
    decisions = h.daemons[-1].log().splitlines()[-60:]
    events = [e for e in h.ctl("events", "-n", "1000", json_out=True) if e["seq"] > seen]
    h.ctl("policy", "add", server, "rate", f"{PINNED_MBPS}mbit")
    h.iperf_server(port=ports[2])
    pinned_after, _ = sixteen_flows(h, 10, 3, lambda h: time.sleep(6), port=ports[2])
    pinned = min(pinned_before, pinned_after, key=lambda r: r.wire)

    ping_p99 = percentile(rtts, 0.99) if rtts else None
    print(f"16 cubic flows: {goodput}; ping p99 {ping_p99} ms over {len(rtts)} probes; "
          f"sockperf p99 {probe_p99} ms; rate reason: {why}; "
          f"pinned at {PINNED_MBPS} Mbit/s: {pinned_before} before, {pinned_after} after")
    print("sluiced's last decisions under the adaptive policy:\n" + "\n".join(decisions))
    failed = []
    if len(rtts) <= 125:
        failed.append(f"ping got {len(rtts)} replies in 5 s")
    elif ping_p99 >= 20:
        failed.append(f"ping p99 {ping_p99:.1f} ms through the bottleneck, want < 20")
    if probe_p99 is None:
        failed.append("sockperf ping-pong did not finish")
    elif probe_p99 >= 20:
        failed.append(f"sockperf p99 {probe_p99:.1f} ms, want < 20")
    if pinned.wire < 0.5 * PINNED_MBPS:
        failed.append(f"pinned at {PINNED_MBPS} Mbit/s: {pinned}")
    try:
        assert_rate_events_explain(events)
    except AssertionError as e:
        failed.append(f"the decision log: {e}")
    # At least 85% of the bottleneck, as far as this host fills it at a
    # fixed rate now: the pinned rate delivers 94-95 of its 95 Mbit/s on a
    # quiet host (the floor is then the full 85 Mbit/s), less on a busy
    # or virtualised one. The law delivered 92-98 Mbit/s here; below the
    # floor it is sawing under the capacity or has collapsed. (A cut to
    # the delivery of a host's hiccup once held it to 81: see
    # test_gradient_rides_out_a_host_hiccup.)
    fills = min(1.0, pinned.wire / PINNED_MBPS)
    floor = GOODPUT_FLOOR * BOTTLENECK_MBPS * fills
    if goodput.wire < floor:
        failed.append(
            f"{goodput.wire:.1f} Mbit/s through a {BOTTLENECK_MBPS} Mbit/s bottleneck, want at "
            f"least {floor:.1f}: {GOODPUT_FLOOR:.0%} of it, as far as a rate pinned at "
            f"{PINNED_MBPS} Mbit/s filled it ({pinned.wire:.1f} Mbit/s)")
    return failed


def test_sixteen_flows_keep_latency_short_and_link_busy(congested):
    # Two trials at most: a fresh VM's noise (a stalled vCPU, the minute
    # after a build) can fail one trial of a law that passes in isolation
    # every time; a law that saws, collapses or queues fails both. Each
    # trial carries its own baseline and reads only its own decisions.
    h = congested
    trials = []
    for ports in ((sluice_lab.IPERF_PORT + 2, sluice_lab.IPERF_PORT, sluice_lab.IPERF_PORT + 1),
                  (sluice_lab.IPERF_PORT + 3, sluice_lab.IPERF_PORT + 4,
                   sluice_lab.IPERF_PORT + 5)):
        if ports[1] != sluice_lab.IPERF_PORT:
            h.iperf_server(port=ports[1])
        failed = sixteen_flows_trial(h, ports)
        trials.append(failed)
        if not failed:
            break
        print(f"trial {len(trials)} failed: " + "; ".join(failed))
    assert not trials[-1], "both trials failed: " + " | ".join("; ".join(t) for t in trials)


def test_rate_follows_a_halved_bottleneck(congested):
    h = congested
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "max", "1gbit")
    flows = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(sluice_lab.IPERF_PORT),
                           "-t", "12", "-C", "cubic", "-P", "16",
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)
    before = h.dest(h.lab.server_ip)["override"]["rate_bps"]
    half = BOTTLENECK_MBPS // 2
    h.lab.exec_in(h.lab.ns_r, "tc", "class", "change", "dev", h.lab.env["IF_R_S"],
                  "parent", "1:", "classid", "1:10", "htb", "rate", f"{half}mbit",
                  "ceil", f"{half}mbit", "quantum", "60000")
    changed = time.monotonic()
    followed = None
    while time.monotonic() - changed < 4:
        rate = h.dest(h.lab.server_ip)["override"]["rate_bps"]
        if rate <= 1.25 * half * 1e6:
            followed = time.monotonic() - changed
            break
        time.sleep(0.1)
    flows.wait(timeout=30)
    h.procs.remove(flows)
    print(f"rate {before / 1e6:.1f} Mbit/s before the bottleneck halved; "
          f"followed to <= {1.25 * half} Mbit/s after {followed} s")
    assert followed is not None and followed <= 2, (
        f"rate did not come within 25% of the halved bottleneck ({half} Mbit/s) "
        f"within 2 s: {followed}; events:\n{h.ctl('events').stdout}")


def connect_results(h, seconds, port):
    """Connect to the server over and over from the test cgroup: the
    outcome of each try, in order, with the time it was made."""
    code = (
        "import socket, time, sys\n"
        "end = time.monotonic() + %f\n"
        "while time.monotonic() < end:\n"
        "    s = socket.socket(); s.settimeout(1)\n"
        "    t = time.monotonic()\n"
        "    try:\n"
        "        s.connect((%r, %d)); r = 'ok'\n"
        "    except ConnectionRefusedError: r = 'refused'\n"
        "    except PermissionError: r = 'eperm'\n"
        "    except OSError as e: r = type(e).__name__\n"
        "    s.close(); print(round(t, 3), r, flush=True); time.sleep(0.05)\n"
        % (seconds, h.lab.server_ip, port))
    proc = h.spawn_client("/usr/bin/python3", "-c", code, stdout=subprocess.PIPE)
    return proc


def test_breaker_opens_on_a_stopped_server_and_closes_when_it_returns(congested):
    h = congested
    port = 5301
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "max", "1gbit")
    tries = connect_results(h, 14, port)
    started = time.monotonic()
    time.sleep(5)  # nothing listens: refused, then the breaker fails them fast
    listener = subprocess.Popen(
        ["ip", "netns", "exec", h.lab.ns_s, "/usr/bin/python3", "-c",
         "import socket, time\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('0.0.0.0', {port})); s.listen(128); s.settimeout(0.2)\n"
         "end = time.monotonic() + 12\n"
         "while time.monotonic() < end:\n"
         "    try:\n"
         "        c, _ = s.accept(); c.close()\n"
         "    except socket.timeout:\n"
         "        pass\n"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.procs.append(listener)
    returned = time.monotonic() - started
    out, _ = tries.communicate(timeout=30)
    h.procs.remove(tries)
    results = [line.split() for line in out.splitlines() if line.strip()]
    t0 = float(results[0][0])
    outcome = [(float(t) - t0, r) for t, r in results]

    first_eperm = next((t for t, r in outcome if r == "eperm"), None)
    last = [r for t, r in outcome if t > outcome[-1][0] - 1.5]
    print(f"first fast failure (EPERM) at {first_eperm} s; server back at {returned:.1f} s; "
          f"last 1.5 s: {last}")
    assert first_eperm is not None and first_eperm < 2, (
        f"no connect failed fast (EPERM) within 2 s of refusals: {outcome[:40]}")
    assert last and all(r == "ok" for r in last), (
        f"connects still failing 1.5 s before the end, after the server returned at "
        f"{returned:.1f} s: {outcome[-30:]}\nevents:\n{h.ctl('events').stdout}")
    breaker = h.dest(h.lab.server_ip)["override"]["breaker"]
    assert breaker == "closed", f"breaker {breaker} after the server returned"


def test_open_breaker_lets_critical_connects_through(requirements, tmp_path):
    """While a destination's breaker is open, connects of the critical class
    (here: socket mark 7) still reach it; the rest fail fast."""
    h = sluice_lab.Harness(tmp_path)
    try:
        h.up()
        start_with_classes(h, tmp_path, "[class critical]\nmark = 7\n")
        code = (
            "import socket, time\n"
            "end = time.monotonic() + 6\n"
            "seen = {0: set(), 7: set()}\n"
            "while time.monotonic() < end:\n"
            "    for mark in (0, 7):\n"
            "        s = socket.socket()\n"
            "        s.setsockopt(socket.SOL_SOCKET, 36, mark)  # SO_MARK\n"
            "        s.settimeout(1)\n"
            "        try:\n"
            "            s.connect((%r, 5302)); r = 'ok'\n"
            "        except ConnectionRefusedError: r = 'refused'\n"
            "        except PermissionError: r = 'eperm'\n"
            "        except OSError as e: r = type(e).__name__\n"
            "        s.close()\n"
            "        if time.monotonic() > end - 3:\n"
            "            seen[mark].add(r)\n"
            "    time.sleep(0.05)\n"
            "print(sorted(seen[0]), sorted(seen[7]))\n" % h.lab.server_ip)
        proc = h.spawn_client("/usr/bin/python3", "-c", code, stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=30)
        h.procs.remove(proc)
        print(f"outcomes in the last 3 s (unmarked, critical): {out.strip()}")
        unmarked, critical = out.strip().split("] [")
        assert "eperm" in unmarked, f"unmarked connects were not failed fast: {out}"
        assert "eperm" not in critical, f"critical connects were refused by sluice: {out}"
    finally:
        h.close()


def test_a_light_critical_connection_leaves_the_class_part_to_a_bulk_one(requirements,
                                                                         tmp_path):
    """A critical ping-pong (the benchmark's sockperf probe, say) beside a
    critical transfer and sheddable bulk, under a static 60 Mbit/s policy:
    critical's part is two thirds of the rate (40 Mbit/s, by the shares of
    the busy classes), and the transfer gets it, not the half of it an
    even split with the ping-pong gave (20 Mbit/s)."""
    h = sluice_lab.Harness(tmp_path)
    try:
        h.up()
        conf = tmp_path / "sluice.conf"
        conf.write_text(
            f"[sluice]\ninterface = {h.lab.env['IF_C']}\ncgroup = {h.cgroup}\n\n"
            f"[policy server]\nprefix = {h.lab.server_ip}/32\nrate = 60mbit\n\n"
            "[class critical]\ndscp = 46\n\n[class sheddable]\ndscp = 10\n")
        h.start_daemon(config=conf)
        h.iperf_server()
        h.iperf_server(port=sluice_lab.IPERF_PORT + 1)
        h.pingpong(14, tos=184)
        bulk = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p",
                              str(sluice_lab.IPERF_PORT + 1), "-t", "12", "-C", "cubic", "-P", "4",
                              "-S", "40", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        critical = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(sluice_lab.IPERF_PORT),
                                  "-t", "8", "-b", "35M", "-S", "184", "-J",
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = critical.communicate(timeout=40)
        h.procs.remove(critical)
        bulk.wait(timeout=30)
        h.procs.remove(bulk)
        crit_mbps = json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6
        print(f"critical beside a critical ping-pong and sheddable bulk: {crit_mbps:.1f} Mbit/s "
              f"of its 35 (part 40 of 60)")
        assert crit_mbps >= 31, (
            f"critical got {crit_mbps:.1f} Mbit/s of its 35 within a part of 40: "
            f"the ping-pong took a share of the class's part")
    finally:
        h.close()


def test_critical_beside_bulk_keeps_its_rate_and_the_link_busy(requirements, tmp_path):
    """Critical traffic (DSCP 46, 30 Mbit/s) beside 8 sheddable bulk flows
    (DSCP 10) through the congested lab: critical keeps its rate; the bulk
    takes what critical leaves, not just its own share of the rate (the
    classes pace by what each uses); and the rate holds headroom below the
    path while both are busy, which the decision log says."""
    h = sluice_lab.Harness(tmp_path)
    h.lab.bottleneck = f"{BOTTLENECK_MBPS}mbit"
    try:
        h.up()
        start_with_classes(h, tmp_path,
                           "[class critical]\ndscp = 46\n\n[class sheddable]\ndscp = 10\n")
        h.iperf_server()
        h.iperf_server(port=sluice_lab.IPERF_PORT + 1)
        critical = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(sluice_lab.IPERF_PORT),
                                  "-t", "14", "-b", "30M", "-S", "184", "-J",
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(1)
        bulk = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p",
                              str(sluice_lab.IPERF_PORT + 1), "-t", "12", "-C", "cubic", "-P", "8",
                              "-S", "40", "-J", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(6)
        paced = {c["class"]: c["paced_pct"] for c in h.dest(h.lab.server_ip)["classes"]}
        crit_out, _ = critical.communicate(timeout=40)
        bulk_out, _ = bulk.communicate(timeout=40)
        h.procs.remove(critical)
        h.procs.remove(bulk)
        crit_mbps = json.loads(crit_out)["end"]["sum_received"]["bits_per_second"] / 1e6
        bulk_mbps = json.loads(bulk_out)["end"]["sum_received"]["bits_per_second"] / 1e6
        events = h.ctl("events", "-n", "1000").stdout
        print(f"critical {crit_mbps:.1f} Mbit/s, sheddable {bulk_mbps:.1f} Mbit/s; "
              f"headroom decisions: {events.count('headroom')}; paced at {paced}")
        # Measured here: critical 30.0 in every run; sheddable 40.6-49.9
        # over its 12 s in six runs; paced by the shares alone, it got 23.
        assert crit_mbps >= 27, f"critical got {crit_mbps:.1f} Mbit/s of its 30"
        assert bulk_mbps >= 30, f"sheddable got {bulk_mbps:.1f} Mbit/s beside critical"
        assert "headroom" in events, f"no headroom decision in the log:\n{events[-2000:]}"
        # dest show says how the rate is split: critical, using about a
        # third, keeps its share of the busy classes' (2/3) and lends the
        # rest, so sheddable paces above its own third (40-60 measured).
        assert paced["critical"] is not None and paced["critical"] >= 60, paced
        assert paced["sheddable"] is not None and paced["sheddable"] > 34, paced
    finally:
        h.close()
