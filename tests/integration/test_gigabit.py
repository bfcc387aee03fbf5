# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A faster bottleneck: 16 flows through 1 Gbit/s keep the link busy.

The adaptive law once used 56% of a 1 Gbit/s link (517 of 914 Mbit/s): its
window, sized from the base RTT alone, capped delivery wherever the hosts'
own delays exceed that base. Under the default adaptive policy 16 cubic
flows must deliver at least 85% of what they deliver with no policy in
the same run (the lower of the runs before and after, as this host's
throughput moves from one minute to the next), and the queue stays
shorter than the unregulated one.
"""
import subprocess
import time

import pytest

import sluice_lab
from test_adaptive import percentile, ping_rtts

KEEPS = 0.85


@pytest.fixture
def gigabit(requirements, tmp_path):
    with sluice_lab.running(tmp_path, "1gbit") as h:
        yield h


def sixteen(h, port):
    """16 cubic flows for 10 s: the goodput from 3 s after their data
    starts, and a ping's p99 meanwhile."""
    h.iperf_server(port=port)
    flows = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(port), "-t", "10",
                           "-C", "cubic", "-P", "16",
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = h.flow_start(flows)
    time.sleep(max(0, t0 + 3 - time.monotonic()))
    first = h.meter.sample()
    rtts = ping_rtts(h, 5, interval=0.02)
    last = h.meter.sample()
    assert flows.wait(timeout=40) == 0, "iperf3 -P 16 failed"
    h.procs.remove(flows)
    return sluice_lab.rate_between(first, last).wire, percentile(rtts, 0.99) if rtts else None


def test_sixteen_flows_fill_a_gigabit_bottleneck(gigabit):
    h = gigabit
    server = f"{h.lab.server_ip}/32"
    for trial in (1, 2):
        base = sluice_lab.IPERF_PORT + 40 + 3 * trial
        bare_before, bare_p99 = sixteen(h, base)
        h.ctl("policy", "add", server, "max", "10gbit")
        regulated, p99 = sixteen(h, base + 1)
        events = h.ctl("events", "-n", "30").stdout
        h.ctl("policy", "del", server)
        bare_after, _ = sixteen(h, base + 2)
        bare = min(bare_before, bare_after)
        print(f"trial {trial}: {regulated:.0f} Mbit/s (ping p99 {p99} ms) under the adaptive "
              f"policy; {bare_before:.0f} (ping p99 {bare_p99} ms) and {bare_after:.0f} "
              f"with no policy\n{events}")
        if regulated >= KEEPS * bare:
            return
    pytest.fail(f"{regulated:.0f} Mbit/s through a 1 Gbit/s bottleneck under the adaptive "
                f"policy, want at least {KEEPS:.0%} of {bare:.0f} with no policy")
