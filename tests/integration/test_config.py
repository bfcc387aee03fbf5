# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluiced driven by its configuration file: policies in the file are
enforced, `-n` refuses a bad file with one line naming the problem, SIGHUP
applies an edited file, and SIGTERM detaches while keeping the pinned
maps, so the policies survive a restart."""
import signal
import time

import pytest

from sluice_lab import assert_rate, run


def write_config(h, rate):
    path = h.workdir / "sluice.conf"
    path.write_text(f"""\
# sluice test configuration
[sluice]
interface = {h.lab.env['IF_C']}
cgroup = {h.cgroup}
interval = 100ms

[policy server]
prefix = {h.lab.server_ip}/32
rate = {rate}
""")
    return path


def check_config(h, path):
    """`sluiced -n -c FILE`, in the client namespace where c0 exists."""
    return run(h.sluiced_cmd("-n", "-c", path, "--pin-dir", h.pin_dir), check=False)


def refused_in_one_line(h, conf, what):
    """`sluiced -n` on conf must exit 2 with one line of error and create
    nothing; that line."""
    p = check_config(h, conf)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, (
        f"sluiced -n on a config with {what} exited {p.returncode}, want 2; "
        f"stderr: {p.stderr.strip()!r}")
    assert len(lines) == 1, f"want one line of error for {what}, got {lines}"
    assert not h.pin_dir.exists(), f"sluiced -n created {h.pin_dir}"
    return lines[0]


def wait_policy_rate(h, prefix, rate_bps, timeout=5):
    """Wait until `sluicectl policy list` shows prefix at rate_bps; return
    the rate it shows."""
    deadline = time.monotonic() + timeout
    while True:
        rate = h.policies().get(prefix, {}).get("rate_bps")
        if rate == rate_bps or time.monotonic() > deadline:
            return rate
        time.sleep(0.1)


def test_config_policy_enforced_then_reloaded_on_sighup(harness):
    h = harness
    conf = write_config(h, "50mbit")
    daemon = h.start_daemon(config=conf)
    h.iperf_server()

    run1 = h.iperf(h.lab.server_ip, seconds=6)
    assert_rate(run1, 50, f"policy from {conf.name} (rate 50mbit)")

    write_config(h, "20mbit")
    daemon.send(signal.SIGHUP)
    prefix = f"{h.lab.server_ip}/32"
    rate = wait_policy_rate(h, prefix, 20_000_000)
    assert rate == 20_000_000, (
        f"after editing rate to 20mbit and SIGHUP, policy list shows {prefix} "
        f"at rate_bps {rate}")
    assert daemon.proc.poll() is None, f"sluiced exited on SIGHUP:\n{daemon.log()}"

    run2 = h.iperf(h.lab.server_ip, seconds=6)
    assert_rate(run2, 20, f"after SIGHUP with rate 20mbit (before: {run1.rate.wire:.2f})")


BAD_CONFIGS = {
    # name: (key of the server policy, its bad value, word the error must name)
    "bad rate": ("rate", "fifty", "fifty"),
    "bad prefix": ("prefix", "198.19.1.300/32", "198.19.1.300"),
    "unknown key": ("colour", "blue", "colour"),
}


def with_policy_key(text, key, value):
    """The config text with `key = value` set in its last section."""
    lines = [l for l in text.splitlines() if not l.startswith(f"{key} =")]
    return "\n".join(lines + [f"{key} = {value}", ""])


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_check_refuses_bad_config_with_one_line(harness, case):
    h = harness
    conf = write_config(h, "50mbit")
    good = check_config(h, conf)
    assert good.returncode == 0, (
        f"sluiced -n on a good config exited {good.returncode}: {good.stderr.strip()}")

    key, value, word = BAD_CONFIGS[case]
    conf.write_text(with_policy_key(conf.read_text(), key, value))
    error = refused_in_one_line(h, conf, case)
    assert word in error, f"error for {case} does not name {word!r}: {error!r}"


EMPTY_SECTIONS = {
    # name: (section appended with no keys, word the error must name)
    "unknown class": ("[class bogus]", "bogus"),
    "known class": ("[class critical]", "critical"),
    "policy": ("[policy spare]", "spare"),
}


@pytest.mark.parametrize("case", sorted(EMPTY_SECTIONS))
def test_check_refuses_a_section_with_no_keys(harness, case):
    """A section header with nothing under it would otherwise vanish
    without a word: refused, naming the section and its line."""
    h = harness
    conf = write_config(h, "50mbit")
    header, word = EMPTY_SECTIONS[case]
    text = conf.read_text()
    conf.write_text(f"{text}\n{header}\n")
    line = len(text.splitlines()) + 2
    error = refused_in_one_line(h, conf, f"an empty {header}")
    assert word in error and f":{line}:" in error, (
        f"error for an empty {header} does not name {word!r} at line {line}: {error!r}")


BAD_HEADROOMS = {
    # name: (class section, headroom value, words the error must name)
    "not critical": ("[class sheddable]", "10%", ("headroom", "class sheddable")),
    "over half": ("[class critical]", "60%", ("60%",)),
    "negative": ("[class critical]", "-5", ("-5",)),
    "not a number": ("[class critical]", "lots", ("lots",)),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADROOMS))
def test_check_refuses_a_bad_headroom(harness, case):
    """The critical class's headroom: a percentage up to half the path, in
    [class critical] alone."""
    h = harness
    conf = write_config(h, "50mbit")
    section, value, words = BAD_HEADROOMS[case]
    base = conf.read_text() + "\n[class critical]\ndscp = 46\n"
    conf.write_text(base + "headroom = 25%\n")
    good = check_config(h, conf)
    assert good.returncode == 0, f"headroom = 25% refused: {good.stderr.strip()}"
    conf.write_text(base + f"{section}\ndscp = 10\nheadroom = {value}\n"
                    if section != "[class critical]" else base + f"headroom = {value}\n")
    error = refused_in_one_line(h, conf, f"headroom = {value} in {section}")
    assert all(w in error for w in words), f"error for {case} does not name {words}: {error!r}"


def test_headroom_reaches_the_datapath_config_and_follows_sighup(harness):
    h = harness
    conf = write_config(h, "50mbit")
    base = conf.read_text() + "\n[class critical]\ndscp = 46\n"
    conf.write_text(base + "headroom = 30%\n")
    daemon = h.start_daemon(config=conf)
    assert h.ctl("status", json_out=True)["critical_headroom_pct"] == 30

    conf.write_text(base)  # the default again
    daemon.send(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while h.ctl("status", json_out=True)["critical_headroom_pct"] != 10:
        assert time.monotonic() < deadline, (
            f"headroom not back to 10% after SIGHUP:\n{daemon.log()}")
        time.sleep(0.1)


def test_sigterm_detaches_and_keeps_policies(harness):
    h = harness
    daemon = h.start_daemon()
    prefix = f"{h.lab.server_ip}/32"
    h.ctl("policy", "add", prefix, "rate", "50mbit")
    assert "sluice" in h.lab.tc_egress_filters(), "no sluice filter on c0 while running"
    assert "sock_ops" in h.cgroup_attachments(), "no sock_ops on the cgroup while running"

    rc = daemon.stop(signal.SIGTERM)
    assert rc == 0, f"sluiced exited {rc} on SIGTERM:\n{daemon.log()}"
    filters = h.lab.tc_egress_filters()
    assert filters == "", f"tc filters left on c0 after SIGTERM:\n{filters}"
    attached = h.cgroup_attachments()
    assert attached == "", f"left attached to {h.cgroup}:\n{attached}"
    assert (h.pin_dir / "sluice_policy").exists(), (
        f"SIGTERM removed the pinned maps: {sorted(pin.name for pin in h.pin_dir.iterdir())}")

    h.start_daemon()
    policies = h.policies()
    assert prefix in policies, f"policy {prefix} lost across a restart: {sorted(policies)}"
