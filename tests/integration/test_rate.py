# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A destination limited to 50 Mbit/s gets 50 Mbit/s on the wire, whatever
the traffic: one TCP flow, eight TCP flows, or UDP offered at four times
the rate. TCP is held by pacing, so it loses next to nothing; UDP cannot
be paced and is held by the bucket, which drops."""
import time

from sluice_lab import assert_faster, assert_rate

TARGET_MBPS = 50


def assert_few_retransmits(run, what):
    """At most 1% of the segments sent are retransmitted.

    Pacing keeps each connection below its share, so the bucket behind it
    should never have to drop and a clean run retransmits nothing. A
    policer that holds TCP by dropping loses far more: on this lab the
    flow backs off to half its target, which takes losses of several per
    cent of segments. 1% tells the two apart while leaving room for a
    stray loss on a busy 2-core machine.
    """
    segments = max(1, run.bytes_sent // 1448)
    retrans = run.retransmits
    assert retrans is not None, f"{what}: iperf3 reported no retransmit count"
    assert retrans <= segments * 0.01, (
        f"{what}: {retrans} retransmitted segments of about {segments} "
        f"({retrans / segments:.2%}), want at most 1%")


def test_one_tcp_flow_held_at_rate(sluice):
    h = sluice
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit")
    run = h.iperf(h.lab.server_ip, seconds=7)
    assert_rate(run, TARGET_MBPS, "one cubic flow")
    assert_few_retransmits(run, "one cubic flow")


def test_eight_tcp_flows_share_the_rate(sluice):
    h = sluice
    prefix = h.lab.server_ip.rsplit(".", 1)[0] + ".0/24"
    h.ctl("policy", "add", prefix, "rate", "50mbit")
    run = h.iperf(h.lab.server_ip, seconds=7, extra=["-P", "8"])
    assert_rate(run, TARGET_MBPS, f"8 cubic flows (policy on {prefix})")
    assert_few_retransmits(run, "8 cubic flows")


def test_a_light_connection_leaves_the_rate_to_a_bulk_one(sluice):
    """A ping-pong beside a transfer to the same destination is busy (its
    data is acknowledged every epoch) but light: the transfer still gets the
    whole rate, not the half an even split among busy connections gave it."""
    h = sluice
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit")
    h.pingpong(12)
    time.sleep(1)
    counts = []

    def count():
        for _ in range(10):
            s = h.dest(h.lab.server_ip)["signals"]
            counts.append((s["conns_busy"], s["conns_bulk"]))
            time.sleep(0.2)

    run = h.iperf(h.lab.server_ip, seconds=7, during=count)
    print(f"(busy, bulk) connections during the transfer: {counts}")
    assert (2, 1) in counts, f"want the ping-pong busy but not bulk: (busy, bulk) {counts}"
    assert_rate(run, TARGET_MBPS, "one cubic flow beside a ping-pong")


def test_udp_above_rate_is_dropped_to_rate(sluice):
    h = sluice
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit")
    run = h.iperf(h.lab.server_ip, seconds=6, extra=["-u", "-b", "200M"])
    assert_rate(run, TARGET_MBPS, "UDP offered at 200 Mbit/s")
    dropped = h.dest(h.lab.server_ip)["entry"]["dropped_pkts"]
    assert dropped > 0, ("UDP at 4x the rate: sluicectl dest show reports "
                         "dropped_pkts 0, want the bucket to have dropped")


def test_deleting_the_policy_restores_full_speed(sluice):
    h = sluice
    prefix = f"{h.lab.server_ip}/32"
    h.ctl("policy", "add", prefix, "rate", "50mbit")
    limited = h.iperf(h.lab.server_ip, seconds=5)
    assert_rate(limited, TARGET_MBPS, "one cubic flow under the policy")

    h.ctl("policy", "del", prefix)
    free = h.iperf(h.lab.server_ip, seconds=5)
    assert_faster(free, 2 * TARGET_MBPS, f"after `policy del {prefix}` "
                  f"(limited run: {limited.rate.wire:.2f} Mbit/s)")
