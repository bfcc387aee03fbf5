# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The control loop pays for what changed: among many quiet destinations,
one whose counters move is read at the next interval (the datapath
announces it in sluice_changed), long before the slow sweep of the whole
table would come round to it."""
import json
import time

DESTS = 20000    # the sweep reads ~700 a tick: 3 s for the whole table
SETTLE_S = 3

# One refused connect to each of `count` addresses, as a scan would make.
SCAN = """
import socket, sys
prefix, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(first, first + count):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((f"{prefix}{i // 65536 + 1:x}:{i % 65536:x}", 9))
    socks.append(s)
    if len(socks) > 256:
        socks.pop(0).close()
"""

# Six refused connects, one after the other, to one address.
REFUSED = """
import socket, sys
for _ in range(6):
    try:
        socket.create_connection((sys.argv[1], 9), timeout=2).close()
    except OSError:
        pass
"""


def test_a_quiet_destination_among_many_is_read_at_its_next_change(harness, tmp_path):
    h = harness
    prefix = h.lab.env["MANY6"]
    conf = tmp_path / "sluice.conf"
    conf.write_text(f"[sluice]\ninterface = {h.lab.env['IF_C']}\ncgroup = {h.cgroup}\n"
                    f"dest_table_size = {DESTS * 2}\n\n"
                    f"[policy many]\nprefix = {prefix}/64\nmax = 1gbit\n")
    d = h.start_daemon(config=conf)
    scan = h.spawn_client("python3", "-c", SCAN, prefix, "0", str(DESTS))
    assert scan.wait(60) == 0, "the scan failed"
    time.sleep(SETTLE_S)  # every destination settles: no step, no read
    target = f"{prefix}1:7"
    before = h.dest(target)["override"]["breaker"]
    assert before == "closed", f"{target}: breaker {before} before its failures"
    fails = h.spawn_client("python3", "-c", REFUSED, target)
    assert fails.wait(30) == 0
    done = time.monotonic()
    state = before
    while time.monotonic() - done < 1.0:
        state = h.dest(target)["override"]["breaker"]
        if state != "closed":
            break
        time.sleep(0.05)
    took = time.monotonic() - done
    assert state == "open", (
        f"{target}: breaker still {state} {took:.2f} s after six refused connects "
        f"among {DESTS} quiet destinations; sluiced's log:\n{d.log()[-2000:]}")
    status = json.dumps(h.ctl("status", json_out=True))
    assert '"changed_lost": 0' in status, f"announcements were lost: {status}"
