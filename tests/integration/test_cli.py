# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluicectl against a private pin directory, without sluiced.

Each test gets a fresh sluice: build/sluice.bpf.o loaded and its maps
pinned with bpftool under /sys/fs/bpf/sluice-clitest-*, and the ABI version
written into sluice_config as the daemon would. The directory is removed
after the test, passed or failed. Destination entries come from running
the TC program on a crafted packet (BPF_PROG_TEST_RUN); signals, overrides
and the decision log from map updates written as the sock_ops program and
sluiced's controllers write them, so no traffic and no attachment is involved.
"""
import fcntl
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", REPO / "build"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
SLUICECTL = BUILD / "sluicectl"
BPF_OBJ = BUILD / "sluice.bpf.o"
MAN_PAGE = REPO / "docs" / "man" / "sluicectl.8"
BPFFS = Path("/sys/fs/bpf")

RTT_BUCKETS = 96


def header_abi_version():
    """SLUICE_ABI_VERSION from the ABI header, so the test follows it."""
    text = (REPO / "include" / "sluice" / "abi.h").read_text()
    return int(re.search(r"#define SLUICE_ABI_VERSION (\d+)", text).group(1))


ABI_VERSION = header_abi_version()


def run(cmd, check=True, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       timeout=60, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def hexbytes(b):
    return ["hex", *(f"{x:02x}" for x in b)]


def v4_key(ip):
    """A sluice_addr: IPv4 stored IPv4-mapped."""
    return bytes(10) + b"\xff\xff" + bytes(int(x) for x in ip.split("."))


def addr_key(ip):
    """A sluice_addr for either family."""
    a = ipaddress.ip_address(ip)
    return v4_key(ip) if a.version == 4 else a.packed


# enum sluice_event_kind, sluice_breaker and sluice_reason of include/sluice/abi.h
EV_RATE, EV_BREAKER, EV_LADDER = 1, 2, 3
BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN = 0, 1, 2
REASON_DELAY, REASON_CONNECT_FAIL, REASON_PRESSURE = 4, 11, 19
EVENTS_MAX = 1024
# enum sluice_class and sluice_classify_kind
CRITICAL, DEFAULT, SHEDDABLE, SCAVENGER = 0, 1, 2, 3
CLASSIFY_DSCP, CLASSIFY_MARK, CLASSIFY_CGROUP = 1, 2, 4
CLASS_NAMES = ["critical", "default", "sheddable", "scavenger"]


def dest_ctl_value(rate_Bps, burst, mark, clamp=0, pressure_milli=0, breaker=0,
                   ladder=0, probe_gap_ns=0, reason=0):
    """A struct sluice_dest_ctl, as sluiced's controller writes it."""
    return struct.pack("<QIIIHBBQII", rate_Bps, burst, mark, clamp, pressure_milli,
                       breaker, ladder, probe_gap_ns, reason, 0)


def event_value(seq, kind, old, new, reason, addr="10.1.2.3", time_ns=None,
                pressure_milli=620, rtt_us=12_000, base_rtt_us=2_000, loss_permille=15,
                delivered_Bps=4_000_000):
    """A struct sluice_event, as sluiced logs a decision."""
    return struct.pack("<QQ16sIIQQIIIIQ", seq, time_ns or time.time_ns(), addr_key(addr),
                       kind, reason, old, new, pressure_milli, rtt_us, base_rtt_us,
                       loss_permille, delivered_Bps)


def tcp_packet(dst, payload=100, dscp=0):
    """Ethernet + IPv4 (ECT(0)) + TCP from 10.0.0.1 to dst."""
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 0, 0, 5 << 4, 0x18, 65535, 0, 0)
    total = 20 + len(tcp) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, dscp << 2 | 0x02, total, 0, 0, 64, 6, 0,
                     bytes([10, 0, 0, 1]), bytes(int(x) for x in dst.split(".")))
    return eth + ip + tcp + b"x" * payload


def rtt_bucket(us):
    """sluice_rtt_bucket() of include/sluice/rtt_hist.h."""
    if us < 4:
        return us
    msb = us.bit_length() - 1
    idx = 4 + (msb - 2) * 4 + ((us >> (msb - 2)) & 3)
    return min(idx, RTT_BUCKETS - 1)


class Pins:
    """One private pin directory and the tools to look into it."""

    def __init__(self, path):
        self.path = path

    def ctl(self, *args, json_out=False):
        cmd = [SLUICECTL, "--pin-dir", self.path] + (["-j"] if json_out else [])
        return run([*cmd, *args], check=False)

    def ok(self, *args):
        """sluicectl -j ARGS, which must succeed; its parsed output."""
        p = self.ctl(*args, json_out=True)
        assert p.returncode == 0, f"sluicectl {' '.join(args)}: {p.returncode} {p.stderr}"
        assert p.stderr == "", f"sluicectl {' '.join(args)} wrote to stderr: {p.stderr!r}"
        return json.loads(p.stdout)

    def dump(self, name):
        return json.loads(run(["bpftool", "-j", "map", "dump", "pinned",
                               self.path / name]).stdout)

    def info(self, name):
        return json.loads(run(["bpftool", "-j", "map", "show", "pinned",
                               self.path / name]).stdout)

    def value_size(self, name):
        return self.info(name)["bytes_value"]

    def update(self, name, key, value):
        run(["bpftool", "map", "update", "pinned", self.path / name,
             "key", *hexbytes(key), "value", *hexbytes(value)])

    def set_config(self, abi=ABI_VERSION, ctl_gen=0, lease_ns=0, event_seq=0,
                   shares=(0, 0, 0, 0), kinds=0, headroom=0):
        """sluice_config, with the class shares, classify kinds and
        critical headroom as sluiced's reconcile_classes() publishes them."""
        self.update("sluice_config", bytes(4),
                    struct.pack("<IIQQIIQ4BIB7xQ", abi, 0, ctl_gen, lease_ns, 0, 0, event_seq,
                                *shares, kinds, headroom, 0))

    def put_class_rule(self, kind, value, cls):
        """A sluice_classify entry: struct sluice_class_key -> enum sluice_class."""
        self.update("sluice_classify", struct.pack("<IIQ", kind, 0, value),
                    struct.pack("<I", cls))

    def log_event(self, seq, *args, **kw):
        """Write event seq into its slot of the ring, as sluiced does."""
        self.update("sluice_events", struct.pack("<I", seq % EVENTS_MAX),
                    event_value(seq, *args, **kw))

    def config(self):
        return self.dump("sluice_config")[0]["formatted"]["value"]

    def send(self, pkt_file, repeat=1):
        """Run the TC program on a packet, as if it left an interface."""
        run(["bpftool", "prog", "run", "pinned", self.path / "progs" / "sluice_tc_egress",
             "data_in", pkt_file, "repeat", str(repeat)])


def why_not_runnable():
    if os.geteuid() != 0:
        return "needs root (bpffs, loading BPF programs)"
    if not shutil.which("bpftool"):
        return "bpftool is not installed"
    for f in (SLUICECTL, BPF_OBJ):
        if not f.exists():
            return f"{f} is not built (run make)"
    return None


@pytest.fixture
def pins():
    why = why_not_runnable()
    if why:
        pytest.skip(why)
    if run(["mountpoint", "-q", BPFFS], check=False).returncode != 0:
        run(["mount", "-t", "bpf", "bpf", BPFFS])
    path = BPFFS / f"sluice-clitest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        run(["bpftool", "prog", "loadall", BPF_OBJ, path / "progs", "pinmaps", path])
        p = Pins(path)
        p.set_config()
        yield p
    finally:
        shutil.rmtree(path)


@pytest.fixture
def packet(tmp_path):
    f = tmp_path / "pkt.bin"
    f.write_bytes(tcp_packet("10.1.2.3"))
    return f


# --- policies ----------------------------------------------------------------

def test_policy_round_trip_text(pins):
    assert pins.ctl("policy", "add", "10.0.0.0/8", "rate", "50mbit").returncode == 0
    assert pins.ctl("policy", "add", "2001:db8::/32", "rate", "1gbit", "burst", "1mb",
                    "ecn", "64kb", "mode", "monitor").returncode == 0
    out = pins.ctl("policy", "list").stdout.splitlines()
    assert out[0].split() == ["PREFIX", "ID", "RATE", "MIN", "MAX", "CONTROLLER", "BURST",
                              "ECN", "MODE", "FAIL", "SOURCE"]
    # A rate alone is a static limit, with no floor or ceiling.
    assert out[1].split() == ["10.0.0.0/8", "1", "50Mbit", "-", "-", "static", "128Kb",
                              "32Kb", "enforce", "closed", "cli"]
    assert out[2].split() == ["2001:db8::/32", "2", "1Gbit", "-", "-", "static", "1Mb",
                              "64Kb", "monitor", "closed", "cli"]
    # Columns line up: each header starts where its cells start.
    assert out[0].index("RATE") == out[1].index("50Mbit") == out[2].index("1Gbit")

    assert pins.ctl("policy", "del", "10.0.0.0/8").returncode == 0
    assert pins.ctl("policy", "del", "2001:db8::/32").returncode == 0
    p = pins.ctl("policy", "list")
    assert p.returncode == 0 and p.stdout == ""
    assert pins.dump("sluice_policy") == []


def test_policy_round_trip_json(pins):
    added = pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit", "burst", "64kb",
                    "ecn", "16kb")
    assert added["id"] == 1 and added["prefix"] == "10.0.0.0/8"
    pins.ok("policy", "add", "192.168.0.0/16", "rate", "1gbit", "mode", "monitor")
    listed = pins.ok("policy", "list")
    assert listed == [
        {"prefix": "10.0.0.0/8", "id": 1, "rate_bps": 50_000_000, "burst_bytes": 65536,
         "ecn_threshold_bytes": 16384, "min_rate_bps": 0, "max_rate_bps": 0,
         "controller": "static", "fail_mode": "closed", "mode": "enforce", "source": "cli"},
        # Defaults: 10 ms at the rate for the burst, a quarter of it for ECN.
        {"prefix": "192.168.0.0/16", "id": 2, "rate_bps": 1_000_000_000,
         "burst_bytes": 1_250_000, "ecn_threshold_bytes": 312_500, "min_rate_bps": 0,
         "max_rate_bps": 0, "controller": "static", "fail_mode": "closed",
         "mode": "monitor", "source": "cli"},
    ]
    # What reached the map: bytes per second, and flags 0 for a CLI policy.
    stored = {e["formatted"]["value"]["id"]: e["formatted"]["value"]
              for e in pins.dump("sluice_policy")}
    assert stored[1]["rate_Bps"] == 6_250_000 and stored[1]["flags"] == 0
    assert stored[2]["mode"] == 1 and stored[2]["flags"] == 0

    assert pins.ok("policy", "del", "10.0.0.0/8") is None
    assert [p["prefix"] for p in pins.ok("policy", "list")] == ["192.168.0.0/16"]


def test_adaptive_policy_round_trip(pins):
    # All of it named: the controller, its floor and ceiling, the start.
    added = pins.ok("policy", "add", "10.0.0.0/8", "rate", "20mbit", "min", "5mbit",
                    "max", "50mbit", "controller", "aimd", "fail", "open")
    assert {k: added[k] for k in ("controller", "fail_mode", "rate_bps", "min_rate_bps",
                                  "max_rate_bps", "burst_bytes")} == {
        "controller": "aimd", "fail_mode": "open", "rate_bps": 20_000_000,
        "min_rate_bps": 5_000_000, "max_rate_bps": 50_000_000,
        # The burst covers 10 ms at the ceiling, not at the start.
        "burst_bytes": 131072}
    # A ceiling without a controller asks for the gradient law; the rate
    # starts at the ceiling and the floor is a hundredth of it.
    added = pins.ok("policy", "add", "2001:db8::/32", "max", "1gbit")
    assert (added["controller"], added["fail_mode"]) == ("gradient", "closed")
    assert (added["rate_bps"], added["min_rate_bps"], added["max_rate_bps"]) == (
        1_000_000_000, 10_000_000, 1_000_000_000)
    assert added["burst_bytes"] == 1_250_000

    # What reached the map: enum values and bytes per second.
    stored = {e["formatted"]["value"]["id"]: e["formatted"]["value"]
              for e in pins.dump("sluice_policy")}
    assert (stored[1]["controller"], stored[1]["fail_mode"]) == (1, 1)
    assert (stored[1]["min_Bps"], stored[1]["max_Bps"]) == (625_000, 6_250_000)
    assert (stored[2]["controller"], stored[2]["fail_mode"]) == (2, 0)

    out = pins.ctl("policy", "list").stdout.splitlines()
    assert out[1].split() == ["10.0.0.0/8", "1", "20Mbit", "5Mbit", "50Mbit", "aimd",
                              "128Kb", "32Kb", "enforce", "open", "cli"]
    row = out[2].split()
    assert row[:6] + row[8:] == ["2001:db8::/32", "2", "1Gbit", "10Mbit", "1Gbit", "gradient",
                                 "enforce", "closed", "cli"]


def test_replacing_a_policy_keeps_its_id_and_moves_ctl_gen(pins):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    pins.ok("policy", "add", "172.16.0.0/12", "rate", "10mbit")
    gen = pins.config()["ctl_gen"]
    replaced = pins.ok("policy", "add", "10.0.0.0/8", "rate", "20mbit")
    assert replaced["id"] == 1 and replaced["rate_bps"] == 20_000_000
    assert pins.config()["ctl_gen"] == gen + 1
    ids = {p["prefix"]: p["id"] for p in pins.ok("policy", "list")}
    assert ids == {"10.0.0.0/8": 1, "172.16.0.0/12": 2}


def test_policy_list_shows_config_policies(pins):
    """A policy the daemon took from its config file carries F_CONFIG."""
    key = struct.pack("<I", 96 + 24) + v4_key("198.51.100.0")
    value = struct.pack("<QQQIIIHHB7x", 1_250_000, 0, 0, 131072, 32768, 7, 0, 1, 0)
    pins.update("sluice_policy", key, value)
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    sources = {p["prefix"]: (p["id"], p["source"]) for p in pins.ok("policy", "list")}
    assert sources == {"198.51.100.0/24": (7, "config"), "10.0.0.0/8": (8, "cli")}
    text = pins.ctl("policy", "list").stdout
    assert re.search(r"^198\.51\.100\.0/24\s+7\s+10Mbit\s.*\sconfig$", text, re.M), text


def test_abbreviated_words(pins):
    assert pins.ctl("p", "a", "10.0.0.0/8", "r", "5mbit", "mo", "mon").returncode == 2
    # "m" could be min, max or mode: an error, never a guess.
    p = pins.ctl("p", "a", "10.0.0.0/8", "r", "5mbit", "m", "monitor")
    assert p.returncode == 2 and p.stderr == "sluicectl: ambiguous keyword 'm'\n"
    assert pins.ctl("p", "a", "10.0.0.0/8", "r", "5mbit", "mo", "monitor").returncode == 0
    assert [p["mode"] for p in pins.ok("pol", "l")] == ["monitor"]
    assert pins.ctl("p", "a", "10.0.0.0/8", "ma", "5mbit", "c", "ai", "f", "open",
                    "mi", "1mbit").returncode == 2  # "ai" is not a controller
    assert pins.ctl("p", "a", "10.0.0.0/8", "ma", "5mbit", "c", "aimd", "f", "open",
                    "mi", "1mbit").returncode == 0
    assert [(p["controller"], p["fail_mode"]) for p in pins.ok("pol")] == [("aimd", "open")]
    assert pins.ok("st")["policies"] == 1
    assert pins.ok("ev") == []


# --- bad input: exit 2, one line naming the word, and nothing written ----------

BAD_INPUTS = [
    (["policy", "add", "10.0.0.1/24", "rate", "50mbit"], "'10.0.0.1/24'"),
    (["policy", "add", "300.1.1.1/8", "rate", "50mbit"], "'300.1.1.1/8'"),
    (["policy", "add", "10.0.0.0/33", "rate", "50mbit"], "'10.0.0.0/33'"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbt"], "'50mbt'"),
    (["policy", "add", "10.0.0.0/8", "rate", "-50mbit"], "'-50mbit'"),
    (["policy", "add", "10.0.0.0/8", "rate", "2000tbit"], "'2000tbit'"),
    (["policy", "add", "10.0.0.0/8", "rate"], "'rate'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "burst"], "'burst'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "burst", "64kq"], "'64kq'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "burst", "1kb"], "burst"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "burst", "64kb", "ecn", "1mb"], "ecn"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "colour", "red"], "'colour'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "mode", "fast"], "'fast'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "rate", "6mbit"], "'rate'"),
    (["policy", "add", "10.0.0.0/8", "burst", "64kb"], "rate"),
    (["policy", "add", "10.0.0.0/8", "controller", "static"], "'rate RATE'"),
    (["policy", "add", "10.0.0.0/8", "controller", "aimd"], "needs a rate or a max"),
    (["policy", "add", "10.0.0.0/8", "min", "100mbit", "max", "10mbit"], "min <= rate <= max"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbit", "max", "10mbit"], "min <= rate <= max"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbit", "min", "1mbit", "controller",
      "static"], "adaptive controller"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbit", "max", "100mbit", "controller",
      "static"], "adaptive controller"),
    (["policy", "add", "10.0.0.0/8", "max", "100mbit", "min", "100bit"], "min below 1kbit"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbit", "controller", "pid"], "'pid'"),
    (["policy", "add", "10.0.0.0/8", "rate", "50mbit", "fail", "maybe"], "'maybe'"),
    (["policy", "add", "10.0.0.0/8", "max", "9tbit"], "'9tbit'"),
    (["policy", "add", "10.0.0.0/8", "max", "50mbt"], "'50mbt'"),
    (["policy", "add", "10.0.0.0/8", "max"], "'max'"),
    (["policy", "add", "10.0.0.0/8", "rate", "5mbit", "m", "monitor"], "'m'"),
    (["policy", "add"], "PREFIX"),
    (["policy", "del", "10.0.0.1/8"], "'10.0.0.1/8'"),
    (["policy", "del", "10.0.0.0/8", "extra"], "'extra'"),
    (["policy", "frob"], "'frob'"),
    (["frob"], "'frob'"),
    (["--bogus", "status"], "'--bogus'"),
    (["dest", "show", "10.1.2"], "'10.1.2'"),
    (["status", "now"], "'now'"),
    (["events", "-n"], "'-n'"),
    (["events", "-n", "ten"], "'ten'"),
    (["events", "-n", "-1"], "'-1'"),
    (["events", "--bogus"], "'--bogus'"),
    (["events", "list", "extra"], "'extra'"),
]


@pytest.mark.parametrize("args,named", BAD_INPUTS, ids=lambda a: " ".join(a)
                         if isinstance(a, list) else None)
def test_bad_input_changes_nothing(pins, args, named):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "10mbit")
    policies, config = pins.dump("sluice_policy"), pins.dump("sluice_config")
    p = pins.ctl(*args)
    assert p.returncode == 2, f"exit {p.returncode}, stderr {p.stderr!r}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1, f"want one line on stderr, got {p.stderr!r}"
    assert lines[0].startswith("sluicectl: ") and named in lines[0], lines[0]
    assert p.stdout == ""
    assert pins.dump("sluice_policy") == policies
    assert pins.dump("sluice_config") == config


def test_del_of_missing_prefix_exits_1(pins):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "10mbit")
    policies = pins.dump("sluice_policy")
    # A covered prefix is not the prefix: deletion is exact.
    p = pins.ctl("policy", "del", "10.9.0.0/16")
    assert p.returncode == 1
    assert p.stderr == "sluicectl: no policy for 10.9.0.0/16\n"
    assert pins.dump("sluice_policy") == policies


def test_json_errors(pins):
    p = pins.ctl("policy", "add", "10.0.0.0/8", "rate", "50mbt", json_out=True)
    assert p.returncode == 2 and p.stderr == ""
    assert json.loads(p.stdout) == {"error": "invalid rate '50mbt'"}

    p = pins.ctl("policy", "del", "10.9.0.0/16", json_out=True)
    assert p.returncode == 1 and p.stderr == ""
    assert json.loads(p.stdout) == {"error": "no policy for 10.9.0.0/16"}

    missing = pins.path / "nothing-here"
    p = run([SLUICECTL, "-j", "--pin-dir", missing, "status"], check=False)
    assert p.returncode == 1
    assert "no sluice maps pinned at" in json.loads(p.stdout)["error"]
    assert not missing.exists()


def test_missing_pins(pins):
    missing = pins.path / "nothing-here"
    p = run([SLUICECTL, "--pin-dir", missing, "policy", "list"], check=False)
    assert p.returncode == 1
    assert p.stderr == (f"sluicectl: no sluice maps pinned at {missing} "
                        "(is sluiced running?)\n")


@pytest.mark.parametrize("args", [
    ["status"],
    ["policy", "list"],
    ["policy", "add", "10.0.0.0/8", "rate", "50mbit"],
    ["policy", "del", "10.0.0.0/8"],
    ["dest", "list"],
    ["dest", "show", "10.1.2.3"],
    ["events"],
], ids=" ".join)
def test_abi_mismatch_refuses_every_command(pins, args):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "10mbit")
    pins.set_config(abi=ABI_VERSION + 1)
    policies = pins.dump("sluice_policy")
    p = pins.ctl(*args)
    assert p.returncode == 1
    assert p.stderr == (f"sluicectl: pinned maps at {pins.path} have ABI version "
                        f"{ABI_VERSION + 1}, this sluicectl speaks {ABI_VERSION}\n")
    assert pins.dump("sluice_policy") == policies


def test_writers_wait_for_the_lock(pins):
    """sluiced holds an exclusive flock on the pin directory while it writes."""
    fd = os.open(pins.path, os.O_RDONLY | os.O_DIRECTORY)
    proc = None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = subprocess.Popen([str(SLUICECTL), "--pin-dir", str(pins.path), "policy",
                                 "add", "10.0.0.0/8", "rate", "10mbit"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        waiting = proc.poll() is None
        written = pins.dump("sluice_policy")
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert proc.wait(timeout=10) == 0
    finally:
        os.close(fd)
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
    assert waiting, "policy add did not wait for the lock"
    assert written == [], "policy add wrote while another writer held the lock"
    assert len(pins.dump("sluice_policy")) == 1


# --- status --------------------------------------------------------------------

def test_status(pins, packet):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    pins.ok("policy", "add", "2001:db8::/32", "rate", "1gbit")
    pins.send(packet, repeat=3)
    st = pins.ok("status")
    assert st["pin_dir"] == str(pins.path)
    assert st["abi_version"] == ABI_VERSION
    assert st["ctl_gen"] == 2
    assert st["lease"] is None and st["event_seq"] == 0
    assert (st["policies"], st["policies_cli"], st["policies_config"]) == (2, 2, 0)
    size = pins.info("sluice_dest")["max_entries"]
    assert (st["dest_entries"], st["dest_max_entries"]) == (1, size)
    assert st["dest_ctl_entries"] == 0 and st["signals_entries"] == 0
    c = st["counters"]
    assert c["packets"] == 3 and c["dest_created"] == 1 and c["unmatched_packets"] == 0

    text = pins.ctl("status").stdout
    assert re.search(rf"^pin dir\s+{re.escape(str(pins.path))}$", text, re.M), text
    assert re.search(r"^policies\s+2 \(0 config, 2 cli\)$", text, re.M), text
    assert re.search(rf"^destinations\s+1 / {size} ", text, re.M), text
    assert re.search(r"^packets\s+3$", text, re.M), text
    assert re.search(r"^lease\s+none$", text, re.M), text
    assert re.search(r"^last event\s+none$", text, re.M), text


def test_status_shows_classes(pins):
    st = pins.ok("status")
    assert st["class_share_pct"] == {"critical": 0, "default": 0, "sheddable": 0,
                                     "scavenger": 0}
    assert st["classify_kinds"] == [] and st["classify_rules"] == 0
    text = pins.ctl("status").stdout
    assert re.search(r"^classes\s+none$", text, re.M), text
    assert re.search(r"^classify\s+none$", text, re.M), text

    pins.set_config(shares=(40, 30, 20, 10), kinds=CLASSIFY_DSCP | CLASSIFY_MARK, headroom=25)
    pins.put_class_rule(CLASSIFY_DSCP, 46, CRITICAL)
    pins.put_class_rule(CLASSIFY_DSCP, 10, SHEDDABLE)
    pins.put_class_rule(CLASSIFY_MARK, 7, SCAVENGER)
    st = pins.ok("status")
    assert st["class_share_pct"] == {"critical": 40, "default": 30, "sheddable": 20,
                                     "scavenger": 10}
    assert st["critical_headroom_pct"] == 25
    # In the order the datapath tries them: cgroup, mark, DSCP.
    assert st["classify_kinds"] == ["mark", "dscp"] and st["classify_rules"] == 3
    text = pins.ctl("status").stdout
    assert re.search(r"^classes\s+critical 40%  default 30%  sheddable 20%  scavenger 10%"
                     r"  \(critical headroom 25%\)$",
                     text, re.M), text
    assert re.search(r"^classify\s+3 rules by mark, dscp$", text, re.M), text

    pins.set_config(shares=(100, 0, 0, 0), kinds=CLASSIFY_CGROUP | CLASSIFY_DSCP)
    assert pins.ok("status")["classify_kinds"] == ["cgroup", "dscp"]
    # Rules the datapath does not look up, once classes are gone.
    pins.set_config()
    st = pins.ok("status")
    assert st["classify_kinds"] == [] and st["classify_rules"] == 3
    text = pins.ctl("status").stdout
    assert re.search(r"^classes\s+none$", text, re.M), text
    assert re.search(r"^classify\s+3 rules, none in use$", text, re.M), text


def test_status_shows_the_lease_and_the_last_event(pins):
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    pins.set_config(lease_ns=now + 60 * 10**9, event_seq=42)
    st = pins.ok("status")
    assert st["event_seq"] == 42
    lease = st["lease"]
    assert not lease["expired"] and lease["lapsed_ms"] == 0
    assert 50_000 < lease["remaining_ms"] <= 60_000
    text = pins.ctl("status").stdout
    m = re.search(r"^lease\s+expires in (\d+) ms$", text, re.M)
    assert m and 50_000 < int(m.group(1)) <= 60_000, text
    assert re.search(r"^last event\s+42$", text, re.M), text

    pins.set_config(lease_ns=now - 10**9)
    lease = pins.ok("status")["lease"]
    assert lease["expired"] and lease["remaining_ms"] == 0
    assert 1_000 <= lease["lapsed_ms"] < 60_000
    m = re.search(r"^lease\s+lapsed (\d+) ms ago$", pins.ctl("status").stdout, re.M)
    assert m and 1_000 <= int(m.group(1)) < 60_000


# --- destinations ----------------------------------------------------------------

def test_dest_show_counters(pins, packet):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    pins.send(packet, repeat=4)
    shown = pins.ok("dest", "show", "10.1.2.3")
    e = shown["entry"]
    assert shown["addr"] == "10.1.2.3"
    assert (e["policy_id"], e["policy_prefix"], e["mode"]) == (1, "10.0.0.0/8", "enforce")
    assert e["rate_bps"] == 50_000_000 and e["burst_bytes"] == 131072
    assert e["passed_pkts"] == 4 and e["passed_bytes"] == 4 * packet.stat().st_size
    assert e["dropped_pkts"] == 0 and e["marked_pkts"] == 0
    assert 0 < e["tokens_bytes"] <= 131072 and not e["ctl_stale"]
    assert shown["override"] is None and shown["signals"] is None
    # No classes configured and none counted: no class block.
    assert shown["classes"] is None and shown["ladder_step"] == 0

    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(rf"^\tpassed\s+{4 * packet.stat().st_size} bytes\s+4 pkts$", text, re.M)
    assert re.search(r"^\tpolicy\s+10\.0\.0\.0/8 \(id 1\)$", text, re.M), text
    assert not re.search(r"^\tclass\s", text, re.M), text

    # A policy change waits for the destination's next packet.
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "10mbit")
    e = pins.ok("dest", "show", "10.1.2.3")["entry"]
    assert e["ctl_stale"] and e["rate_bps"] == 50_000_000
    pins.send(packet)
    e = pins.ok("dest", "show", "10.1.2.3")["entry"]
    assert not e["ctl_stale"] and e["rate_bps"] == 10_000_000


def test_dest_show_signals_and_override(pins, packet):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    pins.send(packet)
    # Ten samples of 1000 us, as the sock_ops program would count them, two
    # connections busy in this 100 ms epoch (one of them bulk), one in the
    # last, and what the receivers said: 50 of 1000 segments CE, 1.2 s
    # window-limited.
    size = pins.value_size("sluice_signals")
    epoch = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 100_000_000
    # (the per-class busy counts, 2 x 4 u32, stay 0)
    head = struct.pack("<9Q2IQ2I8I4Q", 10, 10_000, 123_456, 5, 1, 12, 2, 10, 7, 3, 1000,
                       epoch, 2, 1, *([0] * 8), 1000, 50, 1_200_000, 3)
    hist = [0] * RTT_BUCKETS
    hist[rtt_bucket(1000)] = 10
    # the histogram, then the bulk counts (the per-class ones stay 0), and
    # the generation it was last announced in
    tail = struct.pack(f"<{RTT_BUCKETS}I2I8IQ", *hist, 1, 0, *([0] * 8), 0)
    pins.update("sluice_signals", v4_key("10.1.2.3"),
                head + bytes(size - len(head) - len(tail)) + tail)
    pins.update("sluice_dest_ctl", v4_key("10.1.2.3"),
                dest_ctl_value(1_250_000, 262_144, 65_536, clamp=4))

    shown = pins.ok("dest", "show", "10.1.2.3")
    s = shown["signals"]
    assert (s["rtt_samples"], s["rtt_mean_us"], s["rtt_last_us"]) == (10, 1000, 1000)
    # The median is read from the histogram: within 1000's bucket [896, 1024).
    assert 896 <= s["rtt_median_us"] < 1024
    assert (s["conns_active"], s["conns_opened"], s["conns_closed"]) == (3, 10, 7)
    assert (s["connects"], s["connect_fails"]) == (12, 2)
    assert (s["retrans_segs"], s["rtos"], s["bytes_acked"]) == (5, 1, 123_456)
    # Busy now: the larger of this epoch's and the last one's, even if the
    # epoch turned over since the entry was written.
    assert (s["conns_busy"], s["conns_bulk"]) == (2, 1)
    assert (s["delivered_pkts"], s["delivered_ce_pkts"]) == (1000, 50)
    assert (s["rwnd_limited_us"], s["zero_window_acks"]) == (1_200_000, 3)
    assert shown["override"] == {"rate_bps": 10_000_000, "burst_bytes": 262_144,
                                 "ecn_threshold_bytes": 65_536, "cwnd_clamp_segs": 4,
                                 "reason": "none", "reason_text": "no decision yet",
                                 "pressure": 0, "breaker": "closed", "ladder_step": 0,
                                 "probe_gap_us": 0}

    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\toverride\s+rate 10Mbit\s+burst 256Kb\s+ecn 64Kb\s+cwnd clamp 4$",
                     text, re.M), text
    assert re.search(r"^\trtt\s+mean 1\.00ms\s+median \d+us\s+last 1\.00ms\s+samples 10$",
                     text, re.M), text
    assert re.search(r"^\tconnects\s+12\s+failed 2$", text, re.M), text
    assert re.search(r"^\tconns\s+active 3\s+busy 2\s+bulk 1\s+opened 10\s+closed 7$", text, re.M), text
    assert re.search(r"^\tecn\s+CE on 50 of 1000 delivered pkts \(5\.0%\)$", text, re.M), text
    assert re.search(r"^\trwnd\s+limited 1\.20s\s+zero-window acks 3$", text, re.M), text


def test_dest_show_says_why(pins, packet):
    """The controller's decision, its reason and state, next to the rate."""
    pins.ok("policy", "add", "10.0.0.0/8", "max", "50mbit")
    pins.send(packet)
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    # No decision yet: the policy's values, nothing against it.
    assert re.search(r"^\toverride\s+none$", text, re.M), text
    assert re.search(r"^\treason\s+the policy's own values$", text, re.M), text
    assert re.search(r"^\tpressure\s+-$", text, re.M), text
    assert re.search(r"^\tbreaker\s+closed$", text, re.M), text

    pins.update("sluice_dest_ctl", v4_key("10.1.2.3"),
                dest_ctl_value(1_250_000, 131_072, 32_768, clamp=8, pressure_milli=620,
                               breaker=BREAKER_OPEN, ladder=2, probe_gap_ns=10**9,
                               reason=REASON_DELAY))
    pins.set_config(ctl_gen=pins.config()["ctl_gen"] + 1)
    pins.send(packet)  # the entry takes the new values at its next packet
    shown = pins.ok("dest", "show", "10.1.2.3")
    o, e = shown["override"], shown["entry"]
    assert (o["reason"], o["reason_text"]) == ("delay", "cut: queueing delay above target")
    assert (o["pressure"], o["breaker"], o["ladder_step"]) == (0.62, "open", 2)
    assert o["probe_gap_us"] == 1_000_000 and o["rate_bps"] == 10_000_000
    assert (e["rate_bps"], e["cwnd_clamp_segs"], e["from_override"]) == (10_000_000, 8, True)
    assert (e["breaker"], e["ladder_step"], e["probe_gap_us"]) == ("open", 2, 1_000_000)
    assert e["connects_refused"] == 0

    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\trate\s+10Mbit\s+burst 128Kb\s+ecn 32Kb\s+cwnd clamp 8$",
                     text, re.M), text
    assert re.search(r"^\treason\s+cut: queueing delay above target$", text, re.M), text
    assert re.search(r"^\tpressure\s+0\.62$", text, re.M), text
    assert re.search(r"^\tbreaker\s+open, one probe connect per 1\.00s$", text, re.M), text
    assert re.search(r"^\trefused\s+0 connects$", text, re.M), text
    # Without classes the datapath has one bucket, and the ladder no effect.
    assert re.search(r"^\tladder\s+step 2: no effect without classes$", text, re.M), text
    assert shown["ladder_step"] == 2 and shown["classes"] is None

    lines = pins.ctl("dest", "list").stdout.splitlines()
    assert lines[1].split()[3:6] == ["10Mbit", "0.62", "open"]
    assert lines[1].split()[-1] == "yes"


def class_line(name, passed, dropped, allowed):
    return rf"^\tclass\s+{name}\s+passed {passed} bytes\s+dropped {dropped} bytes\s+allowed {allowed}$"


def test_dest_show_classes(pins, tmp_path):
    """Bytes per class as the TC program counts them, and what the ladder allows."""
    pins.set_config(shares=(40, 30, 20, 10), kinds=CLASSIFY_DSCP)
    pins.put_class_rule(CLASSIFY_DSCP, 46, CRITICAL)
    pins.put_class_rule(CLASSIFY_DSCP, 8, SCAVENGER)
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    frames = {}
    for name, dscp in (("ef", 46), ("be", 0), ("cs1", 8)):
        frames[name] = tmp_path / f"{name}.bin"
        frames[name].write_bytes(tcp_packet("10.1.2.3", dscp=dscp))
    size = frames["ef"].stat().st_size
    pins.send(frames["ef"], repeat=3)
    pins.send(frames["be"], repeat=2)
    pins.send(frames["cs1"])

    shown = pins.ok("dest", "show", "10.1.2.3")
    assert shown["ladder_step"] == 0
    # No TCP connection has been seen: no signals, so no connection counts.
    none = {"paced_pct": None, "conns_busy": None, "conns_bulk": None}
    assert shown["classes"] == [
        {"class": "critical", "passed_bytes": 3 * size, "dropped_bytes": 0, "allowed": "full",
         **none},
        {"class": "default", "passed_bytes": 2 * size, "dropped_bytes": 0, "allowed": "full",
         **none},
        {"class": "sheddable", "passed_bytes": 0, "dropped_bytes": 0, "allowed": "full",
         **none},
        {"class": "scavenger", "passed_bytes": size, "dropped_bytes": 0, "allowed": "full",
         **none},
    ]
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(class_line("critical", 3 * size, 0, "full"), text, re.M), text
    assert re.search(class_line("sheddable", 0, 0, "full"), text, re.M), text
    # The class block follows the ladder, in class order.
    assert [m.group(1) for m in re.finditer(r"^\tclass\s+(\w+)", text, re.M)] == CLASS_NAMES
    assert text.index("\tladder") < text.index("\tclass")

    # Step 1, as the controller publishes it: scavenger stops.
    pins.update("sluice_dest_ctl", v4_key("10.1.2.3"),
                dest_ctl_value(6_250_000, 131_072, 32_768, pressure_milli=550, ladder=1,
                               reason=REASON_PRESSURE))
    pins.set_config(ctl_gen=pins.config()["ctl_gen"] + 1, shares=(40, 30, 20, 10),
                    kinds=CLASSIFY_DSCP)
    pins.send(frames["cs1"], repeat=2)
    pins.send(frames["ef"])
    shown = pins.ok("dest", "show", "10.1.2.3")
    assert shown["ladder_step"] == 1 and shown["entry"]["ladder_step"] == 1
    assert [(c["class"], c["passed_bytes"], c["dropped_bytes"], c["allowed"])
            for c in shown["classes"]] == [
        ("critical", 4 * size, 0, "full"), ("default", 2 * size, 0, "full"),
        ("sheddable", 0, 0, "full"), ("scavenger", size, 2 * size, "none")]
    assert shown["entry"]["dropped_pkts"] == 2
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\tladder\s+step 1: scavenger stopped$", text, re.M), text
    assert re.search(class_line("scavenger", size, 2 * size, "none"), text, re.M), text

    # The latest decision is shown before the entry takes it.
    pins.update("sluice_dest_ctl", v4_key("10.1.2.3"),
                dest_ctl_value(6_250_000, 131_072, 32_768, pressure_milli=930, ladder=3,
                               reason=REASON_PRESSURE))
    shown = pins.ok("dest", "show", "10.1.2.3")
    assert shown["ladder_step"] == 3 and shown["entry"]["ladder_step"] == 1
    assert [c["allowed"] for c in shown["classes"]] == ["full", "floor", "none", "none"]
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\tladder\s+step 3: sheddable and scavenger stopped, "
                     r"default held to its guarantee$", text, re.M), text
    assert re.search(class_line("default", 2 * size, 0, "floor"), text, re.M), text

    pins.update("sluice_dest_ctl", v4_key("10.1.2.3"),
                dest_ctl_value(6_250_000, 131_072, 32_768, ladder=2))
    step2 = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\tladder\s+step 2: scavenger stopped, "
                     r"sheddable held to its guarantee$", step2, re.M), step2

    # Connections per class, as sock_ops counts them in this busy epoch:
    # critical two busy, one of them bulk (the other a light ping-pong);
    # sheddable three, all bulk. Each class's part is split among its bulk.
    epoch = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 100_000_000
    head = struct.pack("<9Q2IQ2I8I4Q", *([0] * 11), epoch, 5, 0, 2, 0, 3, 0, *([0] * 4),
                       *([0] * 4))
    tail = struct.pack(f"<{RTT_BUCKETS}I2I8IQ", *([0] * RTT_BUCKETS), 4, 0, 1, 0, 3, 0,
                       *([0] * 4), 0)
    value_size = pins.value_size("sluice_signals")
    pins.update("sluice_signals", v4_key("10.1.2.3"),
                head + bytes(value_size - len(head) - len(tail)) + tail)
    shown = pins.ok("dest", "show", "10.1.2.3")
    assert [(c["class"], c["conns_busy"], c["conns_bulk"]) for c in shown["classes"]] == [
        ("critical", 2, 1), ("default", 0, 0), ("sheddable", 3, 3), ("scavenger", 0, 0)]
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\tclass\s+critical\s+passed \d+ bytes\s+dropped \d+ bytes\s+"
                     r"allowed \w+\s+busy 2  bulk 1$", text, re.M), text
    assert re.search(r"^\tconns\s+active 0\s+busy 5\s+bulk 4\s", text, re.M), text

    # Classes gone from the config: the counts stay while the entry does,
    # and every class is full again, whatever the step.
    pins.set_config(ctl_gen=pins.config()["ctl_gen"] + 1)
    shown = pins.ok("dest", "show", "10.1.2.3")
    assert [c["allowed"] for c in shown["classes"]] == ["full"] * 4
    assert shown["classes"][3]["dropped_bytes"] == 2 * size
    text = pins.ctl("dest", "show", "10.1.2.3").stdout
    assert re.search(r"^\tladder\s+step 2: no effect without classes$", text, re.M), text


def test_dest_show_classes_without_traffic(pins):
    """Configured classes show, counted or not; an override alone is enough."""
    pins.set_config(shares=(40, 30, 20, 10), kinds=CLASSIFY_MARK)
    pins.update("sluice_dest_ctl", v4_key("10.9.9.9"),
                dest_ctl_value(1_250_000, 131_072, 32_768, ladder=2))
    shown = pins.ok("dest", "show", "10.9.9.9")
    assert shown["entry"] is None and shown["ladder_step"] == 2
    assert [(c["class"], c["passed_bytes"], c["dropped_bytes"], c["allowed"])
            for c in shown["classes"]] == [
        ("critical", 0, 0, "full"), ("default", 0, 0, "full"),
        ("sheddable", 0, 0, "floor"), ("scavenger", 0, 0, "none")]
    text = pins.ctl("dest", "show", "10.9.9.9").stdout
    assert re.search(class_line("sheddable", 0, 0, "floor"), text, re.M), text


def test_dest_show_of_an_unknown_address(pins):
    p = pins.ctl("dest", "show", "10.1.2.3")
    assert p.returncode == 1
    assert p.stderr == "sluicectl: no destination entry for 10.1.2.3\n"


def test_dest_list(pins, packet, tmp_path):
    pins.ok("policy", "add", "10.0.0.0/8", "rate", "50mbit")
    pins.send(packet, repeat=2)
    other = tmp_path / "other.bin"
    other.write_bytes(tcp_packet("10.0.0.9"))
    pins.send(other)
    unmatched = tmp_path / "unmatched.bin"
    unmatched.write_bytes(tcp_packet("192.0.2.1"))
    pins.send(unmatched)

    listed = pins.ok("dest", "list")
    assert [(d["addr"], d["entry"]["passed_pkts"]) for d in listed] == [
        ("10.0.0.9", 1), ("10.1.2.3", 2)]
    lines = pins.ctl("dest", "list").stdout.splitlines()
    assert lines[0].split() == ["DEST", "POLICY", "MODE", "RATE", "PRESSURE", "BREAKER",
                                "TOKENS", "PASSED", "MARKED", "DROPPED", "OVERRIDE"]
    # No controller decision yet: no pressure, the breaker closed.
    assert lines[2].split()[:6] == ["10.1.2.3", "10.0.0.0/8", "enforce", "50Mbit", "-",
                                    "closed"]
    assert lines[2].split()[7:] == ["2", "0", "0", "no"]


# --- the decision log ----------------------------------------------------------------

T0 = 1_700_000_000_123_456_789  # CLOCK_REALTIME of the first event


def local_time(ns):
    """How sluicectl prints a CLOCK_REALTIME time: local, to the millisecond."""
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ns // 10**9))
            + f".{ns // 10**6 % 1000:03d}")


def log_sample_events(pins):
    """Four decisions in ring order: slot 1 has been overwritten by seq 1025,
    slot 2 by 1026, slot 3 still holds seq 3 and slot 1000 seq 1000."""
    pins.log_event(1025, EV_RATE, 6_250_000, 4_375_000, REASON_DELAY, time_ns=T0 + 2)
    pins.log_event(1026, EV_BREAKER, BREAKER_CLOSED, BREAKER_OPEN, REASON_CONNECT_FAIL,
                   addr="2001:db8::1", time_ns=T0 + 3)
    pins.log_event(3, EV_LADDER, 0, 2, REASON_PRESSURE, time_ns=T0)
    pins.log_event(1000, EV_RATE, 1_250_000, 2_500_000, REASON_DELAY, time_ns=T0 + 1,
                   pressure_milli=0, loss_permille=0)


def test_events_are_listed_by_seq(pins):
    assert pins.ok("events") == []
    assert pins.ctl("events").stdout == ""
    log_sample_events(pins)

    listed = pins.ok("events")
    assert [e["seq"] for e in listed] == [3, 1000, 1025, 1026]
    assert listed[2] == {
        "seq": 1025, "time_us": (T0 + 2) // 1000, "addr": "10.1.2.3", "kind": "rate",
        "old_rate_bps": 50_000_000, "new_rate_bps": 35_000_000, "reason": "delay",
        "reason_text": "cut: queueing delay above target", "pressure": 0.62,
        "rtt_us": 12_000, "base_rtt_us": 2_000, "loss_permille": 15,
        "delivered_bps": 32_000_000}
    assert {k: listed[3][k] for k in ("addr", "kind", "old_breaker", "new_breaker")} == {
        "addr": "2001:db8::1", "kind": "breaker", "old_breaker": "closed",
        "new_breaker": "open"}
    assert (listed[0]["old_ladder_step"], listed[0]["new_ladder_step"]) == (0, 2)
    assert [e["seq"] for e in pins.ok("events", "-n", "2")] == [1025, 1026]
    assert pins.ok("events", "-n", "0") == []

    lines = pins.ctl("events").stdout.splitlines()
    when = local_time(T0 + 2)
    assert lines == [
        f"{local_time(T0)}  10.1.2.3  ladder  0 -> 2  pressure  pressure 0.62 "
        "rtt 12.00ms base 2.00ms loss 1.5% delivered 32Mbit",
        f"{local_time(T0)}  10.1.2.3  rate  10Mbit -> 20Mbit  delay  pressure 0.00 "
        "rtt 12.00ms base 2.00ms loss 0.0% delivered 32Mbit",
        f"{when}  10.1.2.3  rate  50Mbit -> 35Mbit  delay  pressure 0.62 "
        "rtt 12.00ms base 2.00ms loss 1.5% delivered 32Mbit",
        f"{when}  2001:db8::1  breaker  closed -> open  connect_fail  pressure 0.62 "
        "rtt 12.00ms base 2.00ms loss 1.5% delivered 32Mbit",
    ]
    assert pins.ctl("events", "-n", "1").stdout.splitlines() == lines[-1:]


class LineReader:
    """Lines from a pipe, each within a deadline."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""

    def line(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"no line within {timeout}s, have {self.buf!r}")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError(f"end of output, have {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


@pytest.mark.parametrize("json_out,sig", [(True, signal.SIGINT), (False, signal.SIGTERM)],
                         ids=["json-sigint", "text-sigterm"])
def test_events_follow(pins, json_out, sig):
    log_sample_events(pins)
    cmd = [str(SLUICECTL), "--pin-dir", str(pins.path), *(["-j"] if json_out else []),
           "events", "--follow", "-n", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = LineReader(proc.stdout)
        # The last of the log first, then what is written from now on.
        first = out.line()
        pins.log_event(1027, EV_RATE, 4_375_000, 3_125_000, REASON_DELAY)
        second = out.line()
        pins.log_event(1028, EV_LADDER, 2, 3, REASON_PRESSURE)
        third = out.line()
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0
        rest, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert err == b"" and out.buf + rest == b""
    if json_out:  # one document per line
        docs = [json.loads(x) for x in (first, second, third)]
        assert [d["seq"] for d in docs] == [1026, 1027, 1028]
        assert (docs[1]["old_rate_bps"], docs[1]["new_rate_bps"]) == (35_000_000, 25_000_000)
    else:
        assert "  2001:db8::1  breaker  closed -> open  " in first
        assert "  10.1.2.3  rate  35Mbit -> 25Mbit  delay  " in second
        assert "  10.1.2.3  ladder  2 -> 3  pressure  " in third


# --- help and the man page ---------------------------------------------------------

def man_text():
    """The man page with roff font escapes and dashes resolved, whitespace collapsed."""
    text = MAN_PAGE.read_text()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    return " ".join(text.split())


def usage_items(help_text):
    """Each command form and definition of a help text, continuation lines joined."""
    items = []
    for line in help_text.splitlines():
        line = line.removeprefix("Usage:").strip()
        if not line:
            continue
        if line.startswith("sluicectl") or ":=" in line or not items:
            items.append(line)
        else:
            items[-1] += " " + line
    return [" ".join(i.split()) for i in items]


@pytest.mark.parametrize("obj", [[], ["policy"], ["dest"], ["events"], ["status"]],
                         ids=str)
def test_help_matches_the_man_page(obj):
    if not SLUICECTL.exists():
        pytest.skip(f"{SLUICECTL} is not built (run make)")
    p = run([SLUICECTL, *obj, "help"])
    assert p.stdout.startswith("Usage: sluicectl")
    man = man_text()
    for item in usage_items(p.stdout):
        assert item in man, f"usage line not in {MAN_PAGE.name}: {item!r}"
