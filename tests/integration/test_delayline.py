# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The lab's delay line: base RTTs other than the veths' tenth of a millisecond.

This kernel has no netem, so tests/lab/delayline.c holds every frame
between router and server for a fixed time. A lab built with a round trip
of R ms must show R to ping, within 10%, idle and while carrying traffic
of 50 and 400 Mbit/s, and deliver that traffic: a line that drops or
reorders would show as a lost rate. Those loads cross no bottleneck: a
sender that a busy host deschedules catches up in a burst, which would
queue at a bottleneck, and what ping saw would not be the line's.
"""
import json
import os
import re
import signal
import statistics
import subprocess
import time
from pathlib import Path

import pytest

import sluice_lab

WITHIN = 0.10


@pytest.fixture
def delayed(requirements, tmp_path, request):
    rtt_ms, bottleneck = request.param
    if not sluice_lab.DELAYLINE.exists():
        pytest.skip(f"no delay line at {sluice_lab.DELAYLINE} (make test-bins)")
    h = sluice_lab.Harness(tmp_path)
    h.lab.rtt_ms, h.lab.bottleneck = rtt_ms, bottleneck
    try:
        h.up()
        yield h, rtt_ms
    finally:
        h.close()


def ping_rtts_ms(h, count=100, interval=0.02):
    out = h.lab.exec_in(h.lab.ns_c, "ping", "-n", "-i", str(interval), "-c", str(count),
                        "-W", "2", h.lab.server_ip, check=False, timeout=60).stdout
    rtts = [float(m) for m in re.findall(r"time=([\d.]+)", out)]
    assert len(rtts) >= 0.95 * count, f"ping got {len(rtts)} of {count} replies:\n{out}"
    return rtts


def ping_median_ms(h, count=100, interval=0.02):
    return statistics.median(ping_rtts_ms(h, count, interval))


@pytest.mark.parametrize("delayed", [(10, None), (50, None)], indirect=True,
                         ids=["10ms", "50ms"])
def test_idle_rtt_is_the_setting(delayed):
    h, rtt_ms = delayed
    got = ping_median_ms(h)
    print(f"delay line at {rtt_ms} ms: ping median {got:.2f} ms")
    assert abs(got - rtt_ms) <= WITHIN * rtt_ms, f"ping median {got:.2f} ms for {rtt_ms} ms"


@pytest.mark.parametrize("delayed,load_mbit", [((10, None), 50), ((10, None), 400)],
                         indirect=["delayed"], ids=["50mbit", "400mbit"])
def test_rtt_holds_under_load(delayed, load_mbit):
    """UDP through the line for 6 s, its delay intact: the lower quartile
    of ping's RTTs is its setting (on a busy host the line wakes late now
    and then, which only adds), and the line drops and reorders nothing."""
    h, rtt_ms = delayed
    h.iperf_server()
    load = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(sluice_lab.IPERF_PORT),
                          "-u", "-b", f"{load_mbit}M", "-l", "1400", "-t", "6", "-J",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rtts = ping_rtts_ms(h, count=150)
    got, median = statistics.quantiles(rtts, n=4)[0], statistics.median(rtts)
    out, err = load.communicate(timeout=40)
    h.procs.remove(load)
    try:
        received = json.loads(out)["end"]["sum"]
    except (ValueError, KeyError):
        pytest.fail(f"iperf3 gave no UDP report: {out[:300]!r} {err[:300]!r}")
    print(f"the line at {rtt_ms} ms, {load_mbit} Mbit/s of UDP: "
          f"ping p25 {got:.2f} ms, median {median:.2f} ms; received {received.get('bits_per_second', 0) / 1e6:.1f} "
          f"Mbit/s, lost {received.get('lost_percent')}%, "
          f"out of order {received.get('out_of_order', 0)}")
    # The receiver's own socket may overflow on a busy 2-core host; what
    # the line lost it counts itself, and how late it was.
    line = line_counters(h)
    print(f"the line toward the server: {line}")
    assert abs(got - rtt_ms) <= WITHIN * rtt_ms, (
        f"ping p25 {got:.2f} ms for {rtt_ms} ms beside {load_mbit} Mbit/s")
    assert line["overflow"] == 0 and line["socket drops"] == 0, f"the line dropped: {line}"
    assert line["out"] + line["held"] == line["in"], f"the line lost frames: {line}"
    assert received.get("out_of_order", 0) == 0, "the line reordered datagrams"


def line_counters(h):
    """The delay line's counters for router -> server (d0->d1): SIGUSR1
    makes it print them to its log."""
    pid = int(Path(f"/run/sluice-lab/{h.lab.name}-d.pid").read_text())
    log = Path(f"/run/sluice-lab/{h.lab.name}-d.log")
    before = log.read_text().count("delayline now: d0->d1")
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 3
    while log.read_text().count("delayline now: d0->d1") == before:
        assert time.monotonic() < deadline, "the delay line printed no counters"
        time.sleep(0.05)
    line = [l for l in log.read_text().splitlines() if l.startswith("delayline now: d0->d1")][-1]
    # "in 142849, out 142848, held 1 of 1907, overflow 0, socket drops 0, ..."
    return {k: int(v) for k, v in
            re.findall(r"\b(in|out|held|overflow|socket drops|late >1ms|read late) (\d+)", line)}
