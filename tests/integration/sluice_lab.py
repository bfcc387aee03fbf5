# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The pieces of an integration test of sluice, each one undoable.

A Harness owns one lab (client -- router -- server namespaces from
tests/lab/lab.sh), one child cgroup of the cgroup v2 mount for the lab's
clients, one private bpffs pin directory, and every process it starts
(sluiced, iperf3 servers and clients). close() takes all of it down again,
in an order that works whatever state a failed test left behind, and ends
only the processes it started, by pid.

Rates are measured as tc counts them, in bytes of Ethernet frames: see
WireMeter.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", REPO / "build"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
SLUICED = BUILD / "sluiced"
SLUICECTL = BUILD / "sluicectl"
LAB_SH = REPO / "tests" / "lab" / "lab.sh"
DELAYLINE = BUILD / "tests" / "lab" / "delayline"

IPERF_PORT = 5201
ECHO_PORT = 11112
TOOLS = ("ip", "tc", "nsenter", "iperf3", "bpftool")

# A light connection: 100 bytes every 20 ms, each answered before the next.
ECHO_SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4)
while True:
    c, _ = s.accept()
    while True:
        b = c.recv(4096)
        if not b:
            break
        c.sendall(b)
    c.close()
"""
ECHO_CLIENT = """
import socket, sys, time
c = socket.socket()
c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(sys.argv[4]))
c.connect((sys.argv[1], int(sys.argv[2])))
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    c.sendall(b"x" * 100)
    c.recv(4096)
    time.sleep(0.02)
"""

_seq = 0


def next_seq():
    """1, 2, 3, ... within this run of the tests."""
    global _seq
    _seq += 1
    return _seq


def unique_suffix(n=None):
    """<pid>-<n>: unique within this run and against any concurrent run."""
    return f"{os.getpid()}-{n or next_seq()}"


def run(cmd, check=True, timeout=60, **kw):
    """Run a command, capture its output as text, and fail with all of it."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {p.returncode}\n"
                           f"stdout: {p.stdout.strip()}\nstderr: {p.stderr.strip()}")
    return p


def _mounts_of(fstype):
    """Mount points of a filesystem type, from /proc/self/mountinfo."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == fstype:
                # Octal escapes (\040 for a space) as the kernel writes them.
                points.append(re.sub(r"\\([0-7]{3})",
                                     lambda m: chr(int(m.group(1), 8)),
                                     left.split()[4]))
    return points


def cgroup2_mount():
    points = _mounts_of("cgroup2")
    return points[0] if points else None


def missing_requirements():
    """Why this machine cannot run the tests, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc, bpffs, cgroups)"
    for tool in TOOLS:
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not cgroup2_mount():
        return "no cgroup v2 mount in /proc/self/mountinfo"
    for binary in (SLUICED, SLUICECTL):
        if not os.access(binary, os.X_OK):
            return f"{binary} is not built (run make)"
    return None


class Lab:
    """A lab from tests/lab/lab.sh: namespaces NAME-c, NAME-r, NAME-s, and
    NAME-d when rtt_ms puts a delay line between router and server."""

    def __init__(self, name, lab_id, bottleneck=None, rtt_ms=None):
        self.name, self.id, self.bottleneck, self.rtt_ms = name, lab_id, bottleneck, rtt_ms
        self.env = {}
        self.is_up = False

    def up(self):
        args = ["bash", LAB_SH, "up", self.name, self.id]
        if self.bottleneck or self.rtt_ms:
            args.append(self.bottleneck or "")
        if self.rtt_ms:
            args.append(str(self.rtt_ms))
        self.is_up = True  # from here on, down() has something to remove
        run(args, env={**os.environ, "DELAYLINE": str(DELAYLINE)})
        out = run(["bash", LAB_SH, "env", self.name, self.id]).stdout
        self.env = dict(line.split("=", 1) for line in out.split())

    def down(self):
        if self.is_up:
            run(["bash", LAB_SH, "down", self.name])
            self.is_up = False

    ns_c = property(lambda self: self.env["NS_C"])
    ns_r = property(lambda self: self.env["NS_R"])
    ns_s = property(lambda self: self.env["NS_S"])
    server_ip = property(lambda self: self.env["S_IP"])
    server_ip6 = property(lambda self: self.env["S_IP6"])

    @staticmethod
    def nsenter(ns):
        """Prefix that switches only the network namespace: unlike
        `ip netns exec`, the host's /sys (bpffs, cgroup2) stays visible."""
        return ["nsenter", f"--net=/run/netns/{ns}"]

    def exec_in(self, ns, *cmd, check=True, timeout=60):
        return run(["ip", "netns", "exec", ns, *cmd], check=check, timeout=timeout)

    def tc_egress_filters(self):
        """`tc filter show dev c0 egress` in the client namespace."""
        return self.exec_in(self.ns_c, "tc", "filter", "show", "dev",
                            self.env["IF_C"], "egress").stdout.strip()


class WireMeter:
    """Bytes on the wire from the client toward the server, as tc counts them.

    The byte counter is the root qdisc of the router's link toward the
    server (`lab.sh bytes`). A qdisc charges a GSO super-packet for every
    segment's headers, as the NIC would put them on the wire and as sluice's
    bucket charges them; the interface counters (tx_bytes, rx_bytes) count
    its headers once, which reads a paced TCP flow 4-6% low: as much as a
    whole 5% margin. The client's tx_bytes is kept alongside so that a
    failure message shows both.
    """

    def __init__(self, lab):
        self.lab = lab

    def sample(self):
        lab = self.lab
        qbytes = int(run(["bash", LAB_SH, "bytes", lab.name]).stdout)
        tx = int(lab.exec_in(lab.ns_c, "cat",
                             f"/sys/class/net/{lab.env['IF_C']}/statistics/tx_bytes").stdout)
        return time.monotonic(), qbytes, tx


@dataclass
class Rate:
    """Rates over one measurement window, in Mbit/s."""
    wire: float      # frames toward the server, counted by tc
    if_tx: float     # tx_bytes of the client's interface (GSO headers once)
    seconds: float

    def __str__(self):
        return (f"{self.wire:.2f} Mbit/s on the wire ({self.if_tx:.2f} Mbit/s by c0 "
                f"tx_bytes, over {self.seconds:.1f} s)")


def rate_between(a, b):
    dt = b[0] - a[0]
    return Rate(wire=(b[1] - a[1]) * 8 / dt / 1e6,
                if_tx=(b[2] - a[2]) * 8 / dt / 1e6, seconds=dt)


@dataclass
class IperfRun:
    """One iperf3 client run and the wire rate measured while it ran."""
    rate: Rate
    returncode: int
    report: dict
    stderr: str

    @property
    def retransmits(self):
        return self.report.get("end", {}).get("sum_sent", {}).get("retransmits")

    @property
    def bytes_sent(self):
        return self.report.get("end", {}).get("sum_sent", {}).get("bytes", 0)

    @property
    def bytes_received(self):
        return self.report.get("end", {}).get("sum_received", {}).get("bytes", 0)

    @property
    def error(self):
        return self.report.get("error")


class Daemon:
    """One sluiced process, logging to a file."""

    def __init__(self, proc, log_path):
        self.proc, self.log_path = proc, log_path

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r"\bready\b", self.log()):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited {self.proc.returncode} before it "
                                   f"was ready; its log:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"sluiced not ready after {timeout} s; its log:\n{self.log()}")

    def wait_signals_taken(self, timeout=5):
        """Until sluiced blocks SIGHUP, its first act in main(): before
        that the process is nsenter, or sluiced still in the dynamic
        loader, and a signal's default action ends it; no program can
        handle a signal before its own code runs."""
        hup = 1 << (signal.SIGHUP - 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with open(f"/proc/{self.proc.pid}/status") as f:
                    status = dict(line.split(":", 1) for line in f if ":" in line)
                if (os.readlink(f"/proc/{self.proc.pid}/exe") == str(SLUICED)
                        and int(status["SigBlk"], 16) & hup):
                    return
            except (OSError, KeyError, ValueError):
                pass
            time.sleep(0.001)
        raise RuntimeError(f"sluiced did not take its signals (exit {self.proc.returncode})")

    def send(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send sig and wait; SIGKILL if it does not end. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class Harness:
    """A lab, a cgroup, a pin directory and the processes of one test."""

    def __init__(self, workdir):
        n = next_seq()
        suffix = unique_suffix(n)
        # Namespace names must be unique (they are host-wide); addresses only
        # exist inside the lab's namespaces, the ID just keeps them distinct.
        lab_id = (os.getpid() * 7 + n) % 250 + 1
        self.workdir = Path(workdir)
        self.lab = Lab(f"sl{os.getpid()}t{n}", lab_id)
        self.cgroup = Path(cgroup2_mount()) / f"sluice-test-{suffix}"
        self.pin_dir = Path(f"/sys/fs/bpf/sluice-test-{suffix}")
        self.daemons = []
        self.procs = []      # clients and servers, ended by pid at close()
        self.meter = None
        self._logs = 0

    # -- setup -----------------------------------------------------------
    def up(self):
        self.lab.up()
        self.meter = WireMeter(self.lab)
        self.cgroup.mkdir()
        return self

    # -- sluiced and sluicectl -----------------------------------------------
    def sluiced_cmd(self, *args):
        """sluiced in the client namespace, so that --iface c0 is found there."""
        return [*Lab.nsenter(self.lab.ns_c), str(SLUICED), *args]

    def spawn_daemon(self, *args, config=None):
        """Start sluiced on the client side and return at once; with no
        arguments it attaches to c0 and the test cgroup with the private
        pin directory."""
        cmd = ["--pin-dir", str(self.pin_dir), "-v"]
        if config:
            cmd += ["-c", str(config)]
        else:
            cmd += ["--iface", self.lab.env["IF_C"], "--cgroup", str(self.cgroup)]
        self._logs += 1
        log_path = self.workdir / f"sluiced-{self._logs}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(self.sluiced_cmd(*cmd, *args), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        daemon = Daemon(proc, log_path)
        self.daemons.append(daemon)
        return daemon

    def start_daemon(self, *args, config=None, timeout=15):
        """spawn_daemon, then wait until it says it is ready."""
        daemon = self.spawn_daemon(*args, config=config)
        daemon.wait_ready(timeout)
        return daemon

    def ctl(self, *args, json_out=False, check=True):
        """sluicectl on our pin directory; parsed JSON with json_out."""
        cmd = [str(SLUICECTL), "--pin-dir", str(self.pin_dir)]
        if json_out:
            cmd.append("-j")
        p = run([*cmd, *args], check=check)
        if json_out and p.returncode == 0:
            return json.loads(p.stdout)
        return p

    def dest(self, addr):
        """`sluicectl -j dest show ADDR`: {"entry": {bucket and counters},
        "signals": {sock_ops signals}, ...}."""
        return self.ctl("dest", "show", addr, json_out=True)

    def policies(self):
        """`sluicectl -j policy list`, as {prefix: policy}."""
        return {p["prefix"]: p for p in self.ctl("policy", "list", json_out=True)}

    def cgroup_attachments(self):
        return run(["bpftool", "cgroup", "show", str(self.cgroup)]).stdout.strip()

    # -- traffic -----------------------------------------------------------
    def in_client_cgroup(self, *cmd):
        """argv that runs cmd in the test cgroup and the client namespace:
        the shell joins the cgroup, then becomes the client."""
        quoted = " ".join(_shq(c) for c in cmd)
        return ["sh", "-c", f"echo $$ > {_shq(str(self.cgroup))}/cgroup.procs && "
                f"exec {' '.join(Lab.nsenter(self.lab.ns_c))} {quoted}"]

    def spawn_client(self, *cmd, **kw):
        proc = subprocess.Popen(self.in_client_cgroup(*cmd), stdin=subprocess.DEVNULL,
                                text=True, **kw)
        self.procs.append(proc)
        return proc

    def iperf_server(self, port=IPERF_PORT):
        proc = subprocess.Popen(["ip", "netns", "exec", self.lab.ns_s, "iperf3", "-s",
                                 "-p", str(port)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        # Ready when the port listens in the server's namespace.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ss = self.lab.exec_in(self.lab.ns_s, "ss", "-Hltn", f"sport = :{port}").stdout
            if ss.strip():
                return proc
            time.sleep(0.05)
        raise RuntimeError(f"iperf3 server did not listen on port {port}")

    def pingpong(self, seconds, tos=0, port=ECHO_PORT):
        """An echo server in the server's namespace and, from the test
        cgroup, a client that sends it 100 bytes every 20 ms for `seconds`
        (IP TOS `tos`): a connection busy every epoch, and light."""
        server = subprocess.Popen(["ip", "netns", "exec", self.lab.ns_s, "python3", "-c",
                                   ECHO_SERVER, self.lab.server_ip, str(port)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.procs.append(server)
        deadline = time.monotonic() + 5
        while not self.lab.exec_in(self.lab.ns_s, "ss", "-Hltn", f"sport = :{port}").stdout.strip():
            if time.monotonic() > deadline:
                raise RuntimeError(f"echo server did not listen on port {port}")
            time.sleep(0.05)
        return self.spawn_client("python3", "-c", ECHO_CLIENT, self.lab.server_ip, str(port),
                                 str(seconds), str(tos),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def iperf(self, dst, seconds=7, skip=1.5, extra=(), during=None):
        """Run one iperf3 client (cubic) in the test cgroup and measure the
        wire rate from `skip` seconds after its data starts to flow to half
        a second before its end, leaving out slow start and the initial
        burst. during() runs after the first sample, for faults mid-run."""
        cmd = ["iperf3", "-c", dst, "-p", str(IPERF_PORT), "-t", str(seconds), "-J",
               "-C", "cubic", *extra]
        proc = self.spawn_client(*cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t0 = self.flow_start(proc)
        time.sleep(max(0, t0 + skip - time.monotonic()))
        first = self.meter.sample()
        if during:
            during()
        time.sleep(max(0.5, t0 + seconds - 0.5 - time.monotonic()))
        last = self.meter.sample()
        out, err = proc.communicate(timeout=seconds + 30)
        self.procs.remove(proc)
        try:
            report = json.loads(out)
        except ValueError:
            report = {"error": f"no JSON report: {out[:200]!r}"}
        result = IperfRun(rate_between(first, last), proc.returncode, report, err)
        # Shown by pytest for a failed test (and with -rP for all).
        print(f"{' '.join(['iperf3 -c', dst, *extra])}: {result.rate}, "
              f"retransmits {result.retransmits}, exit {proc.returncode}")
        return result

    def flow_start(self, proc, timeout=10):
        """When the client's data began to cross the router: iperf3 counts its
        time from there, which can be seconds after it started (a fresh
        link's first IPv6 packet waits for neighbour discovery)."""
        start = self.meter.sample()[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            now, sent, _ = self.meter.sample()
            if sent - start > 64 * 1024:  # more than iperf3's control exchange
                return now
            time.sleep(0.05)
        return time.monotonic()  # let the measurement show what happened

    # -- teardown ------------------------------------------------------------
    def close(self):
        """Undo everything, each step whatever happened to the others; raise
        the first error at the end so that a broken teardown is seen."""
        errors = []

        def step(fn, *args):
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        for proc in self.procs:
            step(_end, proc)
        for daemon in self.daemons:
            step(daemon.stop)
        if self.lab.is_up:
            step(self._uninstall)
        step(self._remove_pin_dir)
        step(self._remove_instance_lock)
        step(self._remove_cgroup)
        step(self.lab.down)
        if errors:
            raise errors[0]

    def _uninstall(self):
        if self.pin_dir.exists():
            run(self.sluiced_cmd("--uninstall", "--pin-dir", self.pin_dir,
                                 "--iface", self.lab.env["IF_C"]), check=False)

    def _remove_pin_dir(self):
        """Whatever sluiced left in our own pin directory, and nothing else."""
        if not self.pin_dir.is_dir() or self.pin_dir.is_symlink():
            return
        for root, dirs, files in os.walk(self.pin_dir, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
            for name in dirs:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    os.unlink(path)
                else:
                    os.rmdir(path)
        os.rmdir(self.pin_dir)

    def _remove_instance_lock(self):
        """The lock file of our pin directory, which a sluiced killed with
        SIGKILL leaves behind (unlocked)."""
        try:
            instance_lock_file(self.pin_dir).unlink()
        except FileNotFoundError:
            pass

    def _remove_cgroup(self):
        if not self.cgroup.is_dir():
            return
        # Only our clients live here; they were ended above. A process
        # that is still exiting keeps the cgroup busy for a moment.
        deadline = time.monotonic() + 5
        while True:
            try:
                self.cgroup.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    pids = (self.cgroup / "cgroup.procs").read_text().split()
                    raise RuntimeError(f"cannot remove {self.cgroup}: pids {pids} in it")
                time.sleep(0.1)


RUN_DIR = Path("/run/sluiced")


def instance_lock_file(pin_dir):
    """Where sluiced keeps the lock of one pin directory (instance.c): the
    path with '/' as '-' and any other byte outside [A-Za-z0-9_.] as \\xNN."""
    out = []
    for ch in str(pin_dir).lstrip("/").encode():
        c = chr(ch)
        if c == "/":
            out.append("-")
        elif c.isascii() and (c.isalnum() or c in "_."):
            out.append(c)
        else:
            out.append(f"\\x{ch:02x}")
    return RUN_DIR / ("".join(out) + ".lock")


def _end(proc):
    """End a process we started: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _shq(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


# The checks below live outside the test modules, so pytest does not
# rewrite them: a failure shows the message alone, not the whole run.

def assert_ran(run, what):
    assert run.returncode == 0, (
        f"{what}: iperf3 exited {run.returncode}: {run.error or run.stderr.strip()}")


def assert_rate(run, target_mbps, what, tolerance=0.05):
    """The run ended cleanly and its wire rate is within tolerance of target."""
    assert_ran(run, what)
    assert abs(run.rate.wire - target_mbps) <= target_mbps * tolerance, (
        f"{what}: {run.rate}, want {target_mbps:g} Mbit/s within {tolerance:.0%}")


def assert_faster(run, floor_mbps, what):
    assert_ran(run, what)
    assert run.rate.wire > floor_mbps, (
        f"{what}: {run.rate}, want more than {floor_mbps:g} Mbit/s")


@contextlib.contextmanager
def running(workdir, bottleneck=None):
    """A harness whose router holds `bottleneck` toward the server (None:
    no bottleneck), with sluiced started; all of it removed afterwards."""
    h = Harness(workdir)
    h.lab.bottleneck = bottleneck
    try:
        h.up()
        h.start_daemon()
        yield h
    finally:
        h.close()
