# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Small TCP applications for the adaptive benchmark.

  tcpapp.py stall-server --port P [--read 3 --stall 5 --after 3] --log FILE
      accept one connection; read for READ seconds, stop reading for STALL
      seconds (the receive window fills and closes), read again for AFTER
      seconds, then close. FILE gets "accept T", "stall_start T",
      "stall_end T", "close T" lines (wall-clock seconds).
  tcpapp.py bulk-client --host H --port P --seconds N [--cc cubic] [--trace FILE]
      send as fast as TCP allows for N seconds (or until the server
      closes); print one JSON line: bytes sent, tcpi_total_retrans,
      tcpi_lost and the congestion control used. FILE gets the socket's
      tcp_info every 100 ms: "T total_retrans snd_cwnd rtt_us snd_wnd
      dsack_dups" (a D-SACK duplicate marks a retransmission that was not
      needed).
  tcpapp.py echo-server --port P
      a request/response server: read a line, answer it, close.
  tcpapp.py connect-loop --host H --port P --seconds N [--gap 0.1]
      a client that opens a new connection for each request, one request
      every GAP seconds, each with a 1 s timeout; prints "T outcome ms" per
      request (ok, eperm, refused, timeout, or the error's name).
"""
import argparse
import json
import socket
import socketserver
import struct
import sys
import time

# struct tcp_info: 8 bytes of u8 fields, then u32s; tcpi_lost is the 7th
# u32 and tcpi_total_retrans the 24th.
TCPI_LOST_OFF = 8 + 6 * 4
TCPI_RTT_OFF = 8 + 15 * 4
TCPI_SND_CWND_OFF = 8 + 18 * 4
TCPI_TOTAL_RETRANS_OFF = 8 + 23 * 4
TCPI_DSACK_DUPS_OFF = 216
# tcpi_snd_wnd (Linux 6.2 and later), after the u64 counters.
TCPI_SND_WND_OFF = 228


def log_line(f, what):
    f.write(f"{what} {time.time():.3f}\n")
    f.flush()


def stall_server(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", a.port))
    srv.listen(4)
    with open(a.log, "w") as log:
        conn, _ = srv.accept()
        log_line(log, "accept")
        conn.settimeout(0.1)

        def read_for(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    if not conn.recv(1 << 20):
                        return False
                except socket.timeout:
                    pass
            return True

        if read_for(a.read):
            log_line(log, "stall_start")
            time.sleep(a.stall)
            log_line(log, "stall_end")
            read_for(a.after)
        conn.close()
        log_line(log, "close")
    return 0


def bulk_client(a):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, a.cc.encode())
    s.connect((a.host, a.port))
    s.settimeout(0.2)
    buf = b"\0" * 65536
    sent = 0
    end = time.monotonic() + a.seconds
    trace = open(a.trace, "w") if a.trace else None
    next_trace = 0.0

    def trace_row():
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        u32 = lambda off: struct.unpack_from("I", info, off)[0] if len(info) >= off + 4 else -1
        trace.write(f"{time.time():.3f} {u32(TCPI_TOTAL_RETRANS_OFF)} {u32(TCPI_SND_CWND_OFF)} "
                    f"{u32(TCPI_RTT_OFF)} {u32(TCPI_SND_WND_OFF)} {u32(TCPI_DSACK_DUPS_OFF)}\n")

    while time.monotonic() < end:
        if trace and time.monotonic() >= next_trace:
            trace_row()
            next_trace = time.monotonic() + 0.1
        try:
            sent += s.send(buf)
        except socket.timeout:
            continue
        except OSError:
            break
    if trace:
        trace_row()
        trace.close()
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    cc = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    lost = struct.unpack_from("I", info, TCPI_LOST_OFF)[0]
    retrans = struct.unpack_from("I", info, TCPI_TOTAL_RETRANS_OFF)[0]
    dsack = struct.unpack_from("I", info, TCPI_DSACK_DUPS_OFF)[0]
    s.close()
    print(json.dumps({"bytes_sent": sent, "total_retrans": retrans, "lost": lost,
                      "dsack_dups": dsack, "cc": cc}))
    return 0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(2)
        try:
            data = self.request.recv(256)
            if data:
                self.request.sendall(b"ok " + data)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def echo_server(a):
    with _Server(("0.0.0.0", a.port), _Echo) as srv:
        srv.serve_forever()
    return 0


def connect_loop(a):
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        t = time.time()
        t0 = time.monotonic()
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((a.host, a.port))
            s.sendall(b"req\n")
            r = "ok" if s.recv(64) else "closed"
        except PermissionError:
            r = "eperm"
        except ConnectionRefusedError:
            r = "refused"
        except socket.timeout:
            r = "timeout"
        except OSError as e:
            r = type(e).__name__
        finally:
            s.close()
        ms = (time.monotonic() - t0) * 1000
        print(f"{t:.3f} {r} {ms:.1f}", flush=True)
        time.sleep(max(0.0, a.gap - (time.monotonic() - t0)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("stall-server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--read", type=float, default=3)
    p.add_argument("--stall", type=float, default=5)
    p.add_argument("--after", type=float, default=3)
    p.add_argument("--log", required=True)
    p = sub.add_parser("bulk-client")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--cc", default="cubic")
    p.add_argument("--trace")
    p = sub.add_parser("echo-server")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("connect-loop")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--gap", type=float, default=0.1)
    a = ap.parse_args()
    return {"stall-server": stall_server, "bulk-client": bulk_client,
            "echo-server": echo_server, "connect-loop": connect_loop}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
