# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A host that serves: accepted connections are regulated like opened ones.

The sending host here runs the server. The lab's peer downloads from it
over 16 connections it opened itself (iperf3 -R), through the router's
100 Mbit/s link and its 1000-packet FIFO. Unregulated, that FIFO fills and
a ping beside the downloads waits 100 ms and more; sluice must see the
accepted connections (their RTTs and deliveries are the destination's
signals), pace them, and keep the queue short, as it does for connections
the host opens. They are not connects: the breaker's counts stay clean.
"""
import subprocess
import time

import pytest

import sluice_lab
from test_adaptive import BOTTLENECK_MBPS, percentile, ping_rtts

SERVE_PORT = sluice_lab.IPERF_PORT + 20
HELD_P99_MS = 20     # the adaptive tests' bound for the queue a probe meets
GOODPUT_FLOOR = 0.7  # of the bottleneck: a held queue, not a starved link


@pytest.fixture
def serving(requirements, tmp_path):
    """The client namespace serves downloads from the test cgroup, through
    a 100 Mbit/s bottleneck toward the peer, with sluiced running."""
    with sluice_lab.running(tmp_path, f"{BOTTLENECK_MBPS}mbit") as h:
        yield h


def serve_downloads(h, seconds):
    """iperf3's server in the test cgroup on the sending side, and 16
    downloads from the peer's namespace: what the server sends over the
    connections it accepted. Returns the peer's process."""
    h.spawn_client("iperf3", "-s", "-p", str(SERVE_PORT),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not h.lab.exec_in(h.lab.ns_c, "ss", "-Hltn", f"sport = :{SERVE_PORT}").stdout.strip():
        if time.monotonic() > deadline:
            raise RuntimeError("iperf3 server did not listen in the client namespace")
        time.sleep(0.05)
    peer = subprocess.Popen(["ip", "netns", "exec", h.lab.ns_s, "iperf3", "-c",
                             h.lab.env["C_IP"], "-p", str(SERVE_PORT), "-R", "-P", "16",
                             "-C", "cubic", "-t", str(seconds)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    h.procs.append(peer)
    return peer


def test_a_host_serving_downloads_holds_the_peers_queue(serving):
    h = serving
    peer_ip = h.lab.server_ip
    h.ctl("policy", "add", f"{peer_ip}/32", "max", "1gbit")
    peer = serve_downloads(h, 14)
    t0 = h.flow_start(peer)
    time.sleep(max(0, t0 + 5 - time.monotonic()))  # the law's first seconds
    first = h.meter.sample()
    rtts = ping_rtts(h, 5, interval=0.02)
    last = h.meter.sample()
    shown = h.dest(peer_ip)
    assert peer.wait(timeout=40) == 0, "the peer's iperf3 -R failed"
    h.procs.remove(peer)
    goodput = sluice_lab.rate_between(first, last)
    signals = shown.get("signals") or {}
    rate = (shown.get("override") or {}).get("rate_bps")
    p99 = percentile(rtts, 0.99) if rtts else None
    print(f"serving 16 downloads: {goodput}; ping p99 {p99} ms over {len(rtts)} probes; "
          f"rate {rate}; signals {signals}")

    # The destination is seen through its accepted connections...
    assert signals.get("conns_active", 0) >= 16, f"accepted connections not counted: {signals}"
    assert signals.get("rtt_samples", 0) > 0, f"no RTT samples from accepted connections: {signals}"
    # ... which are not connects: nothing for the breaker to count.
    assert signals.get("connects", 0) == 0 and signals.get("conns_opened", 0) == 0, signals
    # The law regulates it: the rate came down from its 1 Gbit/s ceiling...
    assert rate is not None and rate < 0.5e9, f"rate not regulated: {shown}"
    # ... the queue stays short ...
    assert len(rtts) > 125, f"ping got {len(rtts)} replies in 5 s"
    assert p99 < HELD_P99_MS, (
        f"ping p99 {p99:.1f} ms beside 16 downloads the host serves, want < {HELD_P99_MS}; "
        f"events:\n{h.ctl('events').stdout}")
    # ... and the link busy.
    assert goodput.wire >= GOODPUT_FLOOR * BOTTLENECK_MBPS, (
        f"{goodput.wire:.1f} Mbit/s through a {BOTTLENECK_MBPS} Mbit/s bottleneck, "
        f"want at least {GOODPUT_FLOOR * BOTTLENECK_MBPS:.0f}")
