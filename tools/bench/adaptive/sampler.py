# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Every 100 ms, one CSV row of what the adaptive benchmark watches.

  sampler.py --out FILE --router-ns /run/netns/LAB-r [--server-ns /run/netns/LAB-s]
             [--ports 5201,5202] [--sluicectl BIN --pin-dir DIR --dest ADDR]

Columns:
  t               wall-clock time of the row (seconds since the epoch)
  wire_bytes      bytes sent toward the server, as the root qdisc of the
                  router's r1 counts them (the bottleneck's output: every
                  segment of a GSO packet with its own headers)
  backlog_pkts    packets queued at the bottleneck (the pfifo under the htb)
  rx_PORT         TCP payload bytes the server received on its established
                  connections with local port PORT (tcpi_bytes_received)
  rate_bps ...    sluice's view of the destination, `sluicectl -j dest show`:
                  the published rate, pressure, breaker, reason, cwnd clamp,
                  ladder step, and the bucket's dropped packets

The sampler switches between the router's and the server's network
namespaces with setns(2) (it is single-threaded), so each row costs one
tc, one ss and one sluicectl, and no `ip netns exec`.
"""
import argparse
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)

FIELDS_SLUICE = ["rate_bps", "pressure", "breaker", "reason", "cwnd_clamp", "ladder",
                 "dropped_pkts"]


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def qdisc_sample(dev):
    """(bytes sent by the root qdisc, packets queued in the leaf pfifo)."""
    out = subprocess.run(["tc", "-s", "qdisc", "show", "dev", dev], capture_output=True,
                         text=True).stdout
    sent, backlog, root = None, 0, False
    for line in out.splitlines():
        if line.startswith("qdisc "):
            root = " root " in line
            leaf = " parent " in line
        elif "Sent" in line and root and sent is None:
            m = re.search(r"Sent (\d+) bytes", line)
            sent = int(m.group(1)) if m else None
        elif "backlog" in line and not root and leaf:
            m = re.search(r"backlog \S+ (\d+)p", line)
            backlog += int(m.group(1)) if m else 0
    return sent, backlog


def ss_bytes(ports):
    """Bytes received per local port, over the established TCP sockets."""
    out = subprocess.run(["ss", "-Htin", "state", "established"], capture_output=True,
                         text=True).stdout
    got = {p: 0 for p in ports}
    port = None
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            # A socket's line: state queues local peer (details follow,
            # on the next line or on this one).
            cols = line.split()
            try:
                port = int(cols[2].rsplit(":", 1)[1])
            except (IndexError, ValueError):
                port = None
        m = re.search(r"bytes_received:(\d+)", line)
        if m and port in got:
            got[port] += int(m.group(1))
    return got


def sluice_sample(ctl, pin, dest):
    p = subprocess.run([ctl, "--pin-dir", pin, "-j", "dest", "show", dest],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return [""] * len(FIELDS_SLUICE)
    try:
        d = json.loads(p.stdout)
    except ValueError:
        return [""] * len(FIELDS_SLUICE)
    e = d.get("entry") or {}
    o = d.get("override") or {}
    rate = o.get("rate_bps", e.get("rate_bps", ""))
    return [rate, o.get("pressure", ""), o.get("breaker", e.get("breaker", "")),
            o.get("reason", "policy"), e.get("cwnd_clamp_segs", ""),
            e.get("ladder_step", ""), e.get("dropped_pkts", "")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--router-ns", required=True)
    ap.add_argument("--server-ns")
    ap.add_argument("--dev", default="r1")
    ap.add_argument("--ports", default="")
    ap.add_argument("--sluicectl")
    ap.add_argument("--pin-dir")
    ap.add_argument("--dest")
    ap.add_argument("--interval", type=float, default=0.1)
    a = ap.parse_args()

    ports = [int(p) for p in a.ports.split(",") if p]
    router_fd = os.open(a.router_ns, os.O_RDONLY)
    server_fd = os.open(a.server_ns, os.O_RDONLY) if a.server_ns and ports else None
    with_sluice = bool(a.sluicectl and a.pin_dir and a.dest)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    cols = ["t", "wire_bytes", "backlog_pkts"] + [f"rx_{p}" for p in ports]
    if with_sluice:
        cols += FIELDS_SLUICE
    with open(a.out, "w", buffering=1) as f:
        f.write(",".join(cols) + "\n")
        next_tick = time.monotonic()
        while not stop:
            t = time.time()
            setns(router_fd)
            sent, backlog = qdisc_sample(a.dev)
            row = [f"{t:.3f}", "" if sent is None else sent, backlog]
            if ports:
                setns(server_fd)
                got = ss_bytes(ports)
                row += [got[p] for p in ports]
            if with_sluice:
                row += sluice_sample(a.sluicectl, a.pin_dir, a.dest)
            f.write(",".join(str(v) for v in row) + "\n")
            next_tick += a.interval
            delay = next_tick - time.monotonic()
            if delay < 0:  # fell behind (a loaded machine): keep the grid
                next_tick = time.monotonic()
                delay = 0
            if not stop:
                time.sleep(delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
