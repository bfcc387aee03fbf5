# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The sock_ops program's per-destination signals, as `sluicectl dest show`
reports them: RTT samples, bytes acknowledged, connects, and a connect
refused by a closed port counted as failed."""
import sys


CLOSED_PORT = 9  # nothing listens on discard in the server namespace

CONNECT = """
import socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
"""


def test_tcp_run_fills_signals(sluice):
    h = sluice
    server = h.lab.server_ip
    h.ctl("policy", "add", f"{server}/32", "rate", "50mbit")
    run = h.iperf(server, seconds=3, skip=1)
    assert run.returncode == 0, f"iperf3 exited {run.returncode}: {run.error}"

    c = h.dest(server)["signals"]
    assert c["rtt_samples"] > 0, f"no RTT samples after a TCP run: {c}"
    # Every byte the server received was acknowledged to the client.
    received = run.bytes_received
    assert c["bytes_acked"] >= received, (
        f"bytes_acked {c['bytes_acked']} below the {received} bytes the server received")
    # iperf3 opens a control connection and a data connection.
    assert c["connects"] >= 2, f"connects {c['connects']}, want >= 2"
    assert c["connect_fails"] == 0, f"connect_fails {c['connect_fails']} after clean run"

    probe = h.spawn_client(sys.executable, "-c", CONNECT, server, str(CLOSED_PORT))
    assert probe.wait(15) == 0, f"connect to {server}:{CLOSED_PORT} was not refused"
    h.procs.remove(probe)

    d = h.dest(server)["signals"]
    assert d["connects"] == c["connects"] + 1, (
        f"connects {c['connects']} -> {d['connects']} after one refused connect")
    assert d["connect_fails"] == 1, (
        f"connect_fails {d['connect_fails']} after one refused connect: {d}")
