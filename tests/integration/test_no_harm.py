# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""First, do no harm: with no evidence of congestion, sluice is invisible.

The lab here has no bottleneck. Under the default adaptive policy a fast
cubic flow must keep what it delivers with no policy at all, and a real web
server (nginx) under a real load generator (wrk, keep-alive connections,
small responses) must keep its tail latency; in neither may the bucket drop
a packet. Each is measured beside runs with no policy in the same test: what
this host delivers moves by tens of percent from one minute to the next.
"""
import re
import shutil
import subprocess
import time

import pytest

import sluice_lab

FAST_KEEPS = 0.85    # of the no-policy run: a noisy 2-core host's margin
HTTP_PORT = 8080
NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix};
    proxy_temp_path {prefix};
    fastcgi_temp_path {prefix};
    uwsgi_temp_path {prefix};
    scgi_temp_path {prefix};
    server {{
        listen {ip}:{port};
        root {prefix}/www;
    }}
}}
"""


def fast_flow(h, policy):
    """One cubic flow for 6 s; policy None removes the server's policy, so
    that sluice sees the traffic but nothing covers it. Its rate from
    1.5 s in, and the packets the bucket dropped from then on."""
    server = f"{h.lab.server_ip}/32"
    if policy:
        h.ctl("policy", "add", server, *policy)
    else:
        h.ctl("policy", "del", server, check=False)
    at = {}

    def steady():
        at["dropped"] = dropped(h) if policy else 0

    rate = h.iperf(h.lab.server_ip, seconds=6, skip=1.5, during=steady).rate.wire
    return rate, (dropped(h) - at["dropped"]) if policy else 0


def dropped(h):
    """Packets the server's bucket dropped so far (0 when no entry)."""
    return ((h.dest(h.lab.server_ip) or {}).get("entry") or {}).get("dropped_pkts", 0)


def test_a_fast_uncongested_flow_keeps_its_rate(sluice):
    h = sluice
    # Two trials at most, each between two runs with no policy: the lower
    # of them is what the host allowed while sluice's run went on.
    for trial in (1, 2):
        bare_before, _ = fast_flow(h, None)
        regulated, drops = fast_flow(h, ("max", "100gbit"))
        events = h.ctl("events", "-n", "40").stdout
        bare_after, _ = fast_flow(h, None)
        bare = min(bare_before, bare_after)
        print(f"trial {trial}: {regulated:.0f} Mbit/s under the adaptive policy, "
              f"{bare_before:.0f} and {bare_after:.0f} with no policy; "
              f"{drops} dropped\n{events}")
        # Past its first 1.5 s: the law's doubling per interval still
        # lags a slow start whose RTT is microseconds, and the bucket can
        # drop in that ramp.
        assert drops == 0, f"the bucket dropped {drops} packets of an uncongested flow"
        if regulated >= FAST_KEEPS * bare:
            return
    pytest.fail(f"{regulated:.0f} Mbit/s under the adaptive policy, want at least "
                f"{FAST_KEEPS:.0%} of {bare:.0f} with no policy; decisions:\n{events}")


def serve_web(h, tmp_path):
    """nginx in the server's namespace serving a 512-byte file, and
    sluiced on the client side (skip when nginx or wrk is missing)."""
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (make deps installs nginx-light and wrk)")
    prefix = tmp_path / "nginx"
    (prefix / "www").mkdir(parents=True)
    (prefix / "www" / "f").write_bytes(b"x" * 512)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, ip=h.lab.server_ip, port=HTTP_PORT))
    nginx = subprocess.Popen(["ip", "netns", "exec", h.lab.ns_s, "nginx", "-p", str(prefix),
                              "-c", str(conf)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.procs.append(nginx)
    deadline = time.monotonic() + 5
    while not h.lab.exec_in(h.lab.ns_s, "ss", "-Hltn", f"sport = :{HTTP_PORT}").stdout.strip():
        if nginx.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"nginx did not listen: {(prefix / 'error.log').read_text()}")
        time.sleep(0.05)
    h.start_daemon()
    return h


@pytest.fixture
def web(harness, tmp_path):
    return serve_web(harness, tmp_path)


def wrk_p99_ms(h, seconds=8):
    """wrk with 2 threads and 16 keep-alive connections from the test
    cgroup: its p99 latency in ms, and the requests it completed."""
    wrk = h.spawn_client("wrk", "-t2", "-c16", f"-d{seconds}s", "--latency",
                         f"http://{h.lab.server_ip}:{HTTP_PORT}/f",
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = wrk.communicate(timeout=seconds + 30)
    h.procs.remove(wrk)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    done = re.search(r"(\d+) requests in", out)
    assert p99 and done, f"wrk printed no latency distribution:\n{out}"
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return float(p99.group(1)) * scale, int(done.group(1))


def test_a_web_server_under_load_keeps_its_tail_latency(web):
    h = web
    server = f"{h.lab.server_ip}/32"
    bare_before, n_before = wrk_p99_ms(h)
    h.ctl("policy", "add", server, "max", "10gbit")
    regulated, n = wrk_p99_ms(h)
    drops = dropped(h)
    events = h.ctl("events", "-n", "40").stdout
    h.ctl("policy", "del", server)
    bare_after, n_after = wrk_p99_ms(h)
    worse = max(bare_before, bare_after)
    print(f"wrk p99 {regulated:.2f} ms ({n} requests) under the adaptive policy; "
          f"{bare_before:.2f} ({n_before}) and {bare_after:.2f} ms ({n_after}) with no "
          f"policy; {drops} dropped\n{events}")
    assert drops == 0, f"the bucket dropped {drops} packets of request/response traffic"
    assert regulated <= 2 * worse + 1, (
        f"p99 {regulated:.2f} ms under the adaptive policy, want at most 2 x {worse:.2f} "
        f"+ 1 ms; decisions:\n{events}")
