# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluiced killed with SIGKILL under load: the tc filter, the cgroup link and
the pinned maps outlive it, so the rate holds and no connection is reset.
A restarted sluiced adopts that state: the policy is still there, the
counters carry on from where they were, and nothing is attached twice.
After a SIGKILL, `sluiced --uninstall` still removes everything."""
import signal
import time

from sluice_lab import assert_rate, run

TARGET_MBPS = 50


def sluice_filters(h):
    return [line for line in h.lab.tc_egress_filters().splitlines() if "sluice" in line]


def test_kill_9_keeps_enforcing_and_restart_adopts(sluice):
    h = sluice
    server = h.lab.server_ip
    prefix = f"{server}/32"
    h.ctl("policy", "add", prefix, "rate", "50mbit")
    first = h.daemons[0]

    def kill_daemon():
        time.sleep(0.5)
        first.stop(signal.SIGKILL)

    # The daemon dies half a second into the measured window.
    killed = h.iperf(server, seconds=8, during=kill_daemon)
    assert first.proc.returncode == -signal.SIGKILL, (
        f"sluiced did not die from SIGKILL (exit {first.proc.returncode})")
    # A reset connection would end iperf3 with an error.
    assert_rate(killed, TARGET_MBPS, "with sluiced killed mid-run")
    assert sluice_filters(h), "no sluice tc filter on c0 after sluiced was killed"
    assert "sock_ops" in h.cgroup_attachments(), (
        "no sock_ops attachment on the test cgroup after sluiced was killed")

    passed_before = h.dest(server)["entry"]["passed_bytes"]
    assert passed_before > 0, "dest show before restart: passed_bytes 0"

    h.start_daemon()
    passed_after = h.dest(server)["entry"]["passed_bytes"]
    assert passed_after >= passed_before, (
        f"restart reset the counters: passed_bytes {passed_before} before, "
        f"{passed_after} after")
    policies = h.policies()
    assert prefix in policies, f"policy {prefix} gone after restart: {sorted(policies)}"
    filters = sluice_filters(h)
    assert len(filters) == 1, f"want one sluice filter on c0 after restart, got {filters}"
    # `bpftool cgroup show`: a header, then ID, attach type, flags, name.
    types = [line.split()[1] for line in h.cgroup_attachments().splitlines()[1:]]
    assert "cgroup_sock_ops" in types and len(types) == len(set(types)), (
        f"want each program attached to the cgroup once after restart, got {types}")

    again = h.iperf(server, seconds=5)
    assert_rate(again, TARGET_MBPS, "after restart")
    final = h.dest(server)["entry"]["passed_bytes"]
    assert final > passed_after, (
        f"passed_bytes did not grow after restart: {passed_after} -> {final}")


def test_uninstall_after_kill_9_removes_everything(harness):
    h = harness
    daemon = h.start_daemon()
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit")
    daemon.stop(signal.SIGKILL)

    p = run(h.sluiced_cmd("--uninstall", "--pin-dir", h.pin_dir,
                          "--iface", h.lab.env["IF_C"]), check=False)
    assert p.returncode == 0, f"sluiced --uninstall exited {p.returncode}: {p.stderr.strip()}"
    filters = h.lab.tc_egress_filters()
    assert filters == "", f"tc filters left on c0 after --uninstall:\n{filters}"
    attached = h.cgroup_attachments()
    assert attached == "", f"left attached to {h.cgroup}:\n{attached}"
    left = sorted(pin.name for pin in h.pin_dir.iterdir()) if h.pin_dir.exists() else []
    assert not left, f"pins left in {h.pin_dir} after --uninstall: {left}"
