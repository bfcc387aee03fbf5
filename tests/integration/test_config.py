# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluiced driven by its configuration file: policies in the file are
enforced, `-n` refuses a bad file with one line naming the problem, SIGHUP
applies an edited file, and SIGTERM detaches while keeping the pinned
maps, so the policies survive a restart."""
import re
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


def wait_log(daemon, pattern, timeout=5):
    """The first line of the daemon's log that matches pattern, waiting for
    it; None when none comes."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in daemon.log().splitlines() if re.search(pattern, l)]
        if lines or time.monotonic() > deadline:
            return lines[0] if lines else None
        time.sleep(0.1)


def test_reload_with_a_key_outside_any_section_keeps_the_running_config(harness):
    """A typo that puts a key before the first section (it used to crash
    the parser, and with it the daemon, on SIGHUP) is refused with one line
    naming the file, the line and the key; the running config stays, and
    the file once fixed applies on the next SIGHUP."""
    h = harness
    conf = write_config(h, "50mbit")
    daemon = h.start_daemon(config=conf)
    before = h.policies()
    prefix = f"{h.lab.server_ip}/32"
    assert before.get(prefix, {}).get("rate_bps") == 50_000_000, (
        f"policy list after start: {before}")

    conf.write_text("rate = 1mbit\n" + conf.read_text())
    daemon.send(signal.SIGHUP)
    time.sleep(1)
    assert daemon.proc.poll() is None, (
        f"sluiced exited {daemon.proc.returncode} on SIGHUP with a key outside any "
        f"section:\n{daemon.log()}")
    refused = wait_log(daemon, r"reload refused")
    assert refused, f"no 'reload refused' in the log:\n{daemon.log()}"
    assert f"{conf}:1:" in refused and "'rate'" in refused, (
        f"the refusal does not name {conf}, line 1 and key 'rate': {refused!r}")
    after = h.policies()
    assert after == before, (
        f"a refused reload changed the policies:\nbefore {before}\nafter {after}")

    write_config(h, "20mbit")
    daemon.send(signal.SIGHUP)
    rate = wait_policy_rate(h, prefix, 20_000_000)
    assert rate == 20_000_000, (
        f"after fixing the file and SIGHUP, policy list shows {prefix} at rate_bps "
        f"{rate}:\n{daemon.log()}")
    assert daemon.proc.poll() is None, f"sluiced exited on SIGHUP:\n{daemon.log()}"


BROKEN_LINES = {
    # name: (config text from the good one, line of the error, words it names)
    "a key before any section": (lambda text: "rate = 1mbit\n" + text, lambda text: 1,
                                 ("'rate'", "outside any section")),
    "a key after a header without ]": (lambda text: text + "[policy a\nrate = 1mbit\n",
                                       lambda text: len(text.splitlines()) + 1,
                                       ("'[policy a'", "]")),
    "a key under an unknown class": (lambda text: text + "[class nope]\nshare = 10%\n",
                                     lambda text: len(text.splitlines()) + 1,
                                     ("[class nope]",)),
}


@pytest.mark.parametrize("case", sorted(BROKEN_LINES))
def test_check_refuses_a_key_in_no_section_with_one_line(harness, case):
    """`sluiced -n` on a file with a key in no known section: exit 2 and one
    line naming the file, the line and the key or header; no crash."""
    h = harness
    conf = write_config(h, "50mbit")
    edit, line_of, words = BROKEN_LINES[case]
    text = conf.read_text()
    conf.write_text(edit(text))
    error = refused_in_one_line(h, conf, case)
    line = line_of(text)
    assert f"{conf}:{line}:" in error, f"error for {case} is not at line {line}: {error!r}"
    assert all(w in error for w in words), f"error for {case} does not name {words}: {error!r}"


def test_check_takes_a_tc_place_and_refuses_a_bad_one(harness):
    """tc_handle and tc_priority in [sluice]: another place for sluice's
    filter, checked as numbers in range."""
    h = harness
    conf = write_config(h, "50mbit")
    text = conf.read_text().replace("[sluice]\n", "[sluice]\ntc_handle = 0x52\n"
                                    "tc_priority = 0x5200\n")
    conf.write_text(text)
    good = check_config(h, conf)
    assert good.returncode == 0, f"tc_handle 0x52, tc_priority 0x5200 refused: {good.stderr}"
    conf.write_text(text.replace("tc_priority = 0x5200", "tc_priority = 0x10000"))
    error = refused_in_one_line(h, conf, "tc_priority = 0x10000")
    assert f"{conf}:4:" in error and "'0x10000'" in error and "'tc_priority'" in error, (
        f"error for tc_priority = 0x10000 does not name line 4, the value and the key: "
        f"{error!r}")


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
