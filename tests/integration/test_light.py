# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Requests beside bulk: the bucket slows bulk transfers, never requests.

A web server (nginx) behind the lab's 100 Mbit/s bottleneck answers a load
generator (wrk, keep-alive connections, small responses) while 16 cubic
uploads fill the same link. Unregulated, the requests wait behind a full
FIFO (seconds); under the default adaptive policy they must see what a
probe sees through the held queue, and the bucket must drop none of their
packets, nor any TCP control packet: over the rate, it drops bulk data.
"""
import subprocess
import time

import pytest

import sluice_lab
from test_adaptive import BOTTLENECK_MBPS, percentile, ping_rtts
from test_no_harm import serve_web, wrk_p99_ms

BULK_PORT = sluice_lab.IPERF_PORT + 30


@pytest.fixture
def web_behind_bottleneck(requirements, tmp_path):
    """nginx behind the router's 100 Mbit/s toward the server, sluiced on
    the client side."""
    h = sluice_lab.Harness(tmp_path)
    h.lab.bottleneck = f"{BOTTLENECK_MBPS}mbit"
    try:
        h.up()
        yield serve_web(h, tmp_path)
    finally:
        h.close()


def test_requests_beside_bulk_are_never_dropped(web_behind_bottleneck):
    h = web_behind_bottleneck
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "max", "1gbit")
    h.iperf_server(port=BULK_PORT)
    bulk = h.spawn_client("iperf3", "-c", h.lab.server_ip, "-p", str(BULK_PORT), "-t", "20",
                          "-C", "cubic", "-P", "16",
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.flow_start(bulk)
    time.sleep(4)  # the law's first seconds
    rtts = ping_rtts(h, 4, interval=0.02)
    first = h.meter.sample()
    p99, done = wrk_p99_ms(h, seconds=8)
    last = h.meter.sample()
    entry = h.dest(h.lab.server_ip)["entry"]
    events = h.ctl("events", "-n", "30").stdout
    bulk.wait(timeout=40)
    h.procs.remove(bulk)
    ping_p99 = percentile(rtts, 0.99) if rtts else None
    goodput = sluice_lab.rate_between(first, last)
    print(f"wrk p99 {p99:.2f} ms ({done} requests) beside 16 uploads; ping p99 {ping_p99} ms; "
          f"{goodput}; dropped by kind {entry['dropped_by_kind']}, spared "
          f"{entry['spared_by_kind']}\n{events}")
    assert entry["dropped_by_kind"]["light"] == 0, entry
    assert entry["dropped_by_kind"]["control"] == 0, entry
    assert ping_p99 is not None and ping_p99 < 20, f"ping p99 {ping_p99} ms: the queue is not held"
    # A request is a round trip or two through the held queue, and the
    # server's own time: the probe's bound, with room for both.
    assert p99 <= 2 * ping_p99 + 5, (
        f"wrk p99 {p99:.2f} ms beside bulk, want at most 2 x {ping_p99:.1f} + 5 ms")
