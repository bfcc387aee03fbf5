# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Every moment of a start is hostile: sluiced killed with SIGKILL at any
point of a first start or a restart, signals that arrive while it starts, a
second sluiced on the same pin directory, a restart that fails. None of
them may leave state that the next start refuses, and none may take down
what a previous run attached."""
import signal
import time

from sluice_lab import instance_lock_file, run

# Spread over a start: bpffs and the pin directory, the load (about 0.4 s
# here), pinning, policies, the cgroup links, the TC filter, the first tick.
KILL_DELAYS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0)


def tc_prog_ids(h):
    """Program ids of the eBPF filters on c0's clsact egress ("... id N ...")."""
    words = h.lab.tc_egress_filters().split()
    return sorted(int(words[i + 1]) for i, w in enumerate(words[:-1])
                  if w == "id" and words[i + 1].isdigit())


def cgroup_prog_ids(h):
    """(attach type, program id) of each program on the test cgroup."""
    rows = h.cgroup_attachments().splitlines()[1:]
    return sorted((r.split()[1], int(r.split()[0])) for r in rows if r.split())


def uninstall(h):
    p = run(h.sluiced_cmd("--uninstall", "--pin-dir", h.pin_dir, "--iface", h.lab.env["IF_C"]),
            check=False)
    assert p.returncode == 0, f"sluiced --uninstall exited {p.returncode}: {p.stderr.strip()}"


def kill_during_start(h, delay):
    d = h.spawn_daemon()
    time.sleep(delay)
    d.stop(signal.SIGKILL)
    assert d.proc.returncode in (-signal.SIGKILL, 0), (
        f"sluiced killed {delay} s into its start exited {d.proc.returncode}:\n{d.log()}")


def test_a_first_start_killed_at_any_moment_never_blocks_the_next(harness):
    h = harness
    for delay in KILL_DELAYS:
        kill_during_start(h, delay)
        d = h.start_daemon(timeout=2)  # raises with the log if not ready in 2 s
        assert d.stop() == 0, f"after a kill at {delay} s: stop exited {d.proc.returncode}"
        uninstall(h)  # the next round starts on a clean pin directory again
        assert not h.pin_dir.exists(), f"{h.pin_dir} left after --uninstall"


def test_a_restart_killed_at_any_moment_never_blocks_the_next(harness):
    h = harness
    h.start_daemon().stop(signal.SIGKILL)
    h.ctl("policy", "add", f"{h.lab.server_ip}/32", "rate", "50mbit")
    for delay in KILL_DELAYS:
        kill_during_start(h, delay)
        d = h.start_daemon(timeout=2)
        d.stop(signal.SIGKILL)  # a crash, so the next round is a restart too
    assert f"{h.lab.server_ip}/32" in h.policies(), "the policy did not survive the restarts"
    d = h.start_daemon(timeout=2)
    assert "adopted maps" in d.log(), f"the last start did not adopt the maps:\n{d.log()}"


def test_a_start_on_the_pins_of_an_older_interrupted_start_rebuilds_them(harness):
    """A start of an earlier sluiced that was killed before it stamped the
    ABI version left a config map that reads version 0: not ours yet."""
    h = harness
    h.pin_dir.mkdir()
    run(["bpftool", "map", "create", h.pin_dir / "sluice_config", "type", "array",
         "key", "4", "value", "64", "entries", "1", "name", "sluice_config"])
    d = h.start_daemon(timeout=2)
    assert "interrupted start" in d.log(), f"no word of the interrupted start:\n{d.log()}"
    assert h.ctl("status", check=False).returncode == 0, "sluicectl cannot read the new maps"


def test_sighup_during_a_start_is_applied_once_running(harness, tmp_path):
    h = harness
    conf = tmp_path / "sluice.conf"
    conf.write_text(f"[sluice]\ninterface = {h.lab.env['IF_C']}\ncgroup = {h.cgroup}\n")
    for delay in (0.0, 0.05, 0.15, 0.3):
        d = h.spawn_daemon(config=conf)
        d.wait_signals_taken()
        time.sleep(delay)
        d.send(signal.SIGHUP)
        d.wait_ready(timeout=5)
        deadline = time.monotonic() + 3
        while "reloading" not in d.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert d.proc.poll() is None, f"SIGHUP {delay} s into the start ended sluiced " \
            f"(exit {d.proc.returncode}):\n{d.log()}"
        assert "reloading" in d.log(), f"SIGHUP {delay} s into the start was lost:\n{d.log()}"
        assert d.stop() == 0


def test_sigterm_during_a_start_stops_cleanly(harness):
    h = harness
    for delay in (0.0, 0.1, 0.3):
        d = h.spawn_daemon()
        d.wait_signals_taken()
        time.sleep(delay)
        d.send(signal.SIGTERM)
        d.proc.wait(10)
        assert d.proc.returncode == 0, (
            f"SIGTERM {delay} s into the start: exit {d.proc.returncode}:\n{d.log()}")
        assert not tc_prog_ids(h), f"TC filter left after SIGTERM at {delay} s"
        assert not cgroup_prog_ids(h), f"cgroup programs left after SIGTERM at {delay} s"
        # A clean stop leaves the pins, which the next start adopts.
        h.start_daemon(timeout=2).stop()


def test_a_second_sluiced_is_refused_before_it_touches_anything(harness):
    h = harness
    first = h.start_daemon()
    tc_before, cg_before = tc_prog_ids(h), cgroup_prog_ids(h)
    assert tc_before and cg_before, "the first sluiced attached nothing"
    second = h.spawn_daemon()
    second.proc.wait(10)
    assert second.proc.returncode == 1, f"second sluiced exited {second.proc.returncode}"
    assert f"already running (pid {first.proc.pid})" in second.log(), second.log()
    assert first.proc.poll() is None, "the first sluiced died"
    assert tc_prog_ids(h) == tc_before, "the second sluiced changed the TC filter"
    assert cgroup_prog_ids(h) == cg_before, "the second sluiced changed the cgroup programs"
    # Nor may an uninstall pull the maps from under the running daemon.
    p = run(h.sluiced_cmd("--uninstall", "--pin-dir", h.pin_dir), check=False)
    assert p.returncode == 1 and "already running" in p.stderr, (p.returncode, p.stderr)
    assert (h.pin_dir / "sluice_config").exists(), "uninstall removed a running daemon's pins"
    # The lock dies with the process: after a SIGKILL a start goes through.
    first.stop(signal.SIGKILL)
    h.start_daemon(timeout=2)


def test_a_failed_restart_leaves_what_the_previous_run_attached(harness):
    h = harness
    h.start_daemon().stop(signal.SIGKILL)
    tc_before, cg_before = tc_prog_ids(h), cgroup_prog_ids(h)
    assert tc_before and cg_before, "nothing attached after the first run"
    # An interface that does not exist, and then one that holds a filter
    # of another tool at sluice's place: each restart fails, and leaves
    # the first run's filter and links as they were.
    for bad in ("nosuch0", "lo"):
        if bad == "lo":
            h.lab.exec_in(h.lab.ns_c, "tc", "qdisc", "add", "dev", "lo", "clsact")
            h.lab.exec_in(h.lab.ns_c, "tc", "filter", "add", "dev", "lo", "egress", "prio",
                          str(0x5100), "handle", "0x51", "bpf", "bytecode", "1,6 0 0 4294967295,")
        d = h.spawn_daemon("--iface", bad)
        d.proc.wait(15)
        assert d.proc.returncode == 1, f"start with --iface {bad} exited {d.proc.returncode}"
        assert tc_prog_ids(h) == tc_before, f"--iface {bad}: the TC filter on c0 changed"
        assert cgroup_prog_ids(h) == cg_before, f"--iface {bad}: the cgroup programs changed"
    assert (h.pin_dir / "sluice_config").exists()


def test_a_foreign_tc_filter_at_our_place_is_never_replaced(harness, tmp_path):
    h = harness
    ifc = h.lab.env["IF_C"]
    h.lab.exec_in(h.lab.ns_c, "tc", "qdisc", "add", "dev", ifc, "clsact")
    h.lab.exec_in(h.lab.ns_c, "tc", "filter", "add", "dev", ifc, "egress", "prio",
                  str(0x5100), "handle", "0x51", "bpf", "bytecode", "1,6 0 0 4294967295,")
    d = h.spawn_daemon()
    d.proc.wait(15)
    assert d.proc.returncode == 1, f"sluiced exited {d.proc.returncode} over a foreign filter"
    assert "not sluice's" in d.log() and "tc_priority" in d.log(), d.log()
    assert "bytecode" in h.lab.tc_egress_filters(), "the foreign filter was replaced"
    # Another place, from the config, and both filters live side by side.
    conf = tmp_path / "sluice.conf"
    conf.write_text(f"[sluice]\ninterface = {ifc}\ncgroup = {h.cgroup}\n"
                    "tc_priority = 0x5200\ntc_handle = 0x52\n")
    d = h.start_daemon(config=conf)
    filters = h.lab.tc_egress_filters()
    assert "bytecode" in filters and "sluice_tc_egres" in filters, filters
    assert "pref 20992" in filters, f"sluice's filter not at prio 0x5200:\n{filters}"
    assert d.stop() == 0
    assert "bytecode" in h.lab.tc_egress_filters(), "stopping removed the foreign filter"
    assert "sluice_tc_egres" not in h.lab.tc_egress_filters(), "sluice's filter stayed"


def test_the_lock_file_goes_with_a_clean_stop(harness):
    h = harness
    d = h.start_daemon()
    lock = instance_lock_file(h.pin_dir)
    assert lock.read_text().strip() == str(d.proc.pid), f"{lock} does not hold the pid"
    assert d.stop() == 0
    assert not lock.exists(), f"{lock} left after a clean stop"


def test_a_stop_or_a_reload_killed_at_any_moment_never_blocks_the_next_start(harness, tmp_path):
    h = harness
    ifc = h.lab.env["IF_C"]
    conf = tmp_path / "sluice.conf"
    policies = "".join(f"[policy p{i}]\nprefix = 10.9.{i}.0/24\nrate = {i + 1}mbit\n\n"
                       for i in range(40))
    conf.write_text(f"[sluice]\ninterface = {ifc}\ncgroup = {h.cgroup}\n\n{policies}")
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.05):
        d = h.start_daemon(config=conf, timeout=2)
        d.send(signal.SIGTERM)  # a stop, killed part way
        time.sleep(delay)
        d.stop(signal.SIGKILL)
        d = h.start_daemon(config=conf, timeout=2)
        conf.write_text(conf.read_text().replace("rate = 1mbit", f"rate = {delay * 1000 + 2:g}mbit"))
        d.send(signal.SIGHUP)  # a reload, killed part way
        time.sleep(delay)
        d.stop(signal.SIGKILL)
        d = h.start_daemon(config=conf, timeout=2)
        assert len(tc_prog_ids(h)) == 1, f"after kills at {delay} s: {h.lab.tc_egress_filters()}"
        types = [t for t, _ in cgroup_prog_ids(h)]
        assert len(types) == len(set(types)) == 3, f"after kills at {delay} s: {types}"
        got = {k for k in h.policies() if k.startswith("10.9.")}
        assert len(got) == 40, f"after kills at {delay} s the policies are {sorted(got)}"
        d.stop(signal.SIGKILL)
