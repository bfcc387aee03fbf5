# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A policy on an IPv6 address limits an IPv6 flow, and leaves IPv4 alone."""
from sluice_lab import assert_faster, assert_rate

TARGET_MBPS = 50


def test_ipv6_flow_held_at_rate(sluice):
    h = sluice
    h.ctl("policy", "add", f"{h.lab.server_ip6}/128", "rate", "50mbit")
    run = h.iperf(h.lab.server_ip6, seconds=7)
    assert_rate(run, TARGET_MBPS, f"IPv6 flow to {h.lab.server_ip6}")

    # The same server over IPv4 has no policy.
    v4 = h.iperf(h.lab.server_ip, seconds=4)
    assert_faster(v4, 2 * TARGET_MBPS, f"IPv4 flow to {h.lab.server_ip} (no policy)")
