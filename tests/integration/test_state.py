# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What sluiced does with state it did not make, and with its own state when
it stops renewing its lease.

A pin directory that is a symlink, holds a map of the wrong type, or holds
sluice's maps of another ABI version is refused, and nothing in it is
touched. A daemon stopped with SIGSTOP lets its lease lapse: a policy that
fails open stops limiting within about a second, and limits again once the
daemon runs; one that fails closed keeps its rate throughout."""
import os
import signal
import struct
import subprocess
import time

from sluice_lab import assert_faster, assert_rate, run

TARGET_MBPS = 50


def start_refused(h):
    """sluiced on the harness's pin dir; it must exit non-zero at once."""
    p = subprocess.run(h.sluiced_cmd("--pin-dir", str(h.pin_dir), "--iface",
                                     h.lab.env["IF_C"], "--cgroup", str(h.cgroup)),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    return p


def test_symlinked_pin_dir_is_refused(harness):
    h = harness
    target = h.workdir / "elsewhere"
    target.mkdir()
    os.symlink(target, h.pin_dir)
    try:
        p = start_refused(h)
        assert p.returncode != 0, f"sluiced accepted a symlink as its pin dir:\n{p.stderr}"
        assert "not a directory" in p.stderr, p.stderr
        assert os.path.islink(h.pin_dir) and target.is_dir() and not list(target.iterdir()), (
            "sluiced changed the symlink or what it points to")
    finally:
        os.unlink(h.pin_dir)


def test_foreign_map_in_pin_dir_is_refused_and_kept(harness):
    h = harness
    h.pin_dir.mkdir()
    foreign = h.pin_dir / "sluice_config"
    run(["bpftool", "map", "create", str(foreign), "type", "hash", "key", "4", "value", "4",
         "entries", "8", "name", "not_sluice"])
    p = start_refused(h)
    assert p.returncode != 0, f"sluiced adopted a foreign map:\n{p.stderr}"
    assert "refusing" in p.stderr or "ABI" in p.stderr, p.stderr
    info = run(["bpftool", "-j", "map", "show", "pinned", str(foreign)]).stdout
    assert '"not_sluice"' in info, f"the foreign map was replaced: {info}"
    assert sorted(os.listdir(h.pin_dir)) == ["sluice_config"], (
        f"sluiced added pins beside a foreign map: {sorted(os.listdir(h.pin_dir))}")


def test_other_abi_version_is_refused_and_kept(harness):
    h = harness
    daemon = h.start_daemon()
    assert daemon.stop() == 0
    # The same layout, but another version in the config map's first field.
    key = struct.pack("<I", 0)
    value = run(["bpftool", "-j", "map", "lookup", "pinned", str(h.pin_dir / "sluice_config"),
                 "key", "hex", "00", "00", "00", "00"]).stdout
    run(["bpftool", "map", "update", "pinned", str(h.pin_dir / "sluice_config"),
         "key", "hex", *[f"{b:02x}" for b in key],
         "value", "hex", "63", "00", "00", "00", *(["00"] * 60)])
    p = start_refused(h)
    assert p.returncode != 0, f"sluiced adopted maps of ABI version 99:\n{p.stderr}"
    assert "ABI version 99" in p.stderr, p.stderr
    assert (h.pin_dir / "sluice_policy").exists(), "refusing removed the pins"
    assert value, "could not read the config map before the change"


def lease_run(h, fail):
    """The rate with sluiced stopped by SIGSTOP, for a policy that fails
    `fail`; the daemon runs again afterwards."""
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit", "controller",
          "static", "fail", fail)
    daemon = h.daemons[-1]
    daemon.send(signal.SIGSTOP)
    try:
        time.sleep(2)  # the lease (at least 1 s) lapses
        return h.iperf(h.lab.server_ip, seconds=5)
    finally:
        daemon.send(signal.SIGCONT)


def test_lapsed_lease_fails_open_when_asked(sluice):
    h = sluice
    lapsed = lease_run(h, "open")
    assert_faster(lapsed, 2 * TARGET_MBPS, "daemon stopped, policy fails open")
    time.sleep(1)  # the daemon renews its lease
    renewed = h.iperf(h.lab.server_ip, seconds=5)
    assert_rate(renewed, TARGET_MBPS, "daemon running again")


def test_lapsed_lease_keeps_the_rate_when_failing_closed(sluice):
    h = sluice
    lapsed = lease_run(h, "closed")
    assert_rate(lapsed, TARGET_MBPS, "daemon stopped, policy fails closed")
