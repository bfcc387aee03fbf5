# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluiced's memory is bounded by the kernel's table, whatever the churn: a
client that opens one connection to each of ten times more destinations
than the table holds, over a minute (a crawler, a scanner, a busy proxy),
leaves the daemon's RSS flat once the table is full."""
import json
import subprocess
import time

from sluice_lab import run

TABLE = 512
SECONDS = 60
WARMUP = 20   # the table is full after about 5 s
GROWTH_KB = 1024

# One connect to each of `count` addresses of the prefix, spread evenly
# over `seconds`; every one is refused by the server namespace (a local
# route owns the whole prefix, nothing listens), as a scan would be.
CHURN = """
import socket, sys, time
prefix, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
open_socks = []
for i in range(count):
    delay = start + i * seconds / count - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((f"{prefix}{i // 65536 + 1:x}:{i % 65536:x}", 9))
    open_socks.append(s)
    if len(open_socks) > 64:
        open_socks.pop(0).close()
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def test_daemon_memory_stays_flat_under_destination_churn(harness, tmp_path):
    h = harness
    prefix = h.lab.env["MANY6"]
    conf = tmp_path / "sluice.conf"
    conf.write_text(f"[sluice]\ninterface = {h.lab.env['IF_C']}\ncgroup = {h.cgroup}\n"
                    f"dest_table_size = {TABLE}\n\n"
                    f"[policy scan]\nprefix = {prefix}/64\nmax = 1gbit\n")
    d = h.start_daemon(config=conf)
    count = TABLE * 10
    client = h.spawn_client("python3", "-c", CHURN, prefix, str(count), str(SECONDS),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    time.sleep(WARMUP)
    warm = rss_kb(d.proc.pid)
    client.wait(SECONDS + 30)
    end = rss_kb(d.proc.pid)
    elapsed = time.monotonic() - t0
    assert client.returncode == 0, f"the churn client failed: {client.stderr.read()}"
    assert d.proc.poll() is None, f"sluiced died:\n{d.log()}"
    # The churn reached the kernel: its table of signals is full.
    entries = json.loads(run(["bpftool", "-j", "map", "dump", "pinned",
                              h.pin_dir / "sluice_signals"]).stdout)
    assert len(entries) >= TABLE // 2, f"only {len(entries)} destinations in the table"
    assert end - warm <= GROWTH_KB, (
        f"sluiced grew from {warm} kB at {WARMUP} s to {end} kB at {elapsed:.0f} s "
        f"with {count} destinations through a table of {TABLE}")
