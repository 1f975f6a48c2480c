#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Network benchmark: lbx-netd (vhost-user-net + libslirp + the egress
policy) against QEMU's built-in -netdev user (libslirp too), measured in
the same run on the same guest kernel under TCG:

  guest->host   the guest pipes N MiB into nc to a sink on the host
  host->guest   a host source sends N MiB to nc in the guest
  connections   the guest opens C connections one after another

The host side (127.0.0.1, reached by the guest as 10.0.2.2) times each
transfer from its first byte or accept to the peer's end of file.
Prints MiB/s, connections/s, and the ratio lbx-netd / QEMU. A ratio says
what the policy and the process boundary cost; absolute figures say
mostly how fast TCG is. Not a test: it never fails on time.

  LBX_BUILD_DIR=build python3 tests/bench/net.py [--mib N] [--conns C] [--runs R]
"""
import argparse
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lbxtest import Box, Device  # noqa: E402
from test_net import SETUP, Netd  # noqa: E402


class QemuUser(Device):
    """QEMU's own slirp, the peer."""

    def qemu_args(self):
        return ["-netdev", "user,id=n0",
                "-device", "virtio-net-device,netdev=n0,mac=52:54:00:12:34:56"]


class Servers:
    """A sink, a source and a connection counter on 127.0.0.1."""

    def __init__(self, mib):
        self.mib = mib
        self.results = {}
        self.socks = {}
        for name, fn in (("sink", self._sink), ("source", self._source),
                         ("accept", self._accept)):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            self.socks[name] = s
            threading.Thread(target=fn, args=(s,), daemon=True).start()

    def port(self, name):
        return self.socks[name].getsockname()[1]

    def _sink(self, s):
        while True:
            c, _ = s.accept()
            n, start = 0, None
            while True:
                b = c.recv(1 << 16)
                if start is None:
                    start = time.monotonic()
                if not b:
                    break
                n += len(b)
            self.results["up"] = (n, time.monotonic() - start)
            c.close()

    def _source(self, s):
        block = bytes(1 << 16)
        while True:
            c, _ = s.accept()
            start = time.monotonic()
            for _ in range(self.mib * 16):
                c.sendall(block)
            c.shutdown(socket.SHUT_WR)
            while c.recv(4096):
                pass
            self.results["down"] = (self.mib << 20, time.monotonic() - start)
            c.close()

    def _accept(self, s):
        times = []
        while True:
            c, _ = s.accept()
            times.append(time.monotonic())
            c.close()
            self.results["conns"] = (len(times), times[-1] - times[0])


def guest_script(srv, mib, conns):
    return (SETUP
            + f"dd if=/dev/zero bs=65536 count={mib * 16} 2>/dev/null | "
              f"nc 10.0.2.2 {srv.port('sink')}; "
            + f"nc 10.0.2.2 {srv.port('source')} </dev/null >/dev/null; "
            + f"i=0; while [ $i -lt {conns} ]; do nc 10.0.2.2 {srv.port('accept')} "
              "</dev/null >/dev/null; i=$((i+1)); done; echo bench-done")


def measure(device, mib, conns):
    srv = Servers(mib)
    if isinstance(device, Netd):
        device.policy = {"mode": "nat", "host": [f"tcp:{srv.port(n)}"
                                                 for n in ("sink", "source", "accept")]}
    r = Box(devices=[device], memory_mib=256).run(["sh", "-c", guest_script(srv, mib, conns)],
                                                  timeout=900)
    if "bench-done" not in r.console or len(srv.results) < 3:
        raise RuntimeError("the guest did not finish:\n" + r.console[-2000:])
    n, t = srv.results["up"]
    up = n / t / (1 << 20)
    n, t = srv.results["down"]
    down = n / t / (1 << 20)
    c, t = srv.results["conns"]
    rate = (c - 1) / t if t > 0 else float("nan")
    return {"guest->host MiB/s": up, "host->guest MiB/s": down, "connections/s": rate}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=32)
    ap.add_argument("--conns", type=int, default=40)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    best = {"lbx-netd": {}, "qemu-user": {}}
    for run in range(a.runs):
        # Alternate the order so that warm-up favours neither.
        order = [("lbx-netd", lambda: Netd({})), ("qemu-user", QemuUser)]
        if run % 2:
            order.reverse()
        for name, make in order:
            res = measure(make(), a.mib, a.conns)
            print(f"# run {run + 1} {name}: " +
                  ", ".join(f"{k} {v:.2f}" for k, v in res.items()), flush=True)
            for k, v in res.items():
                best[name][k] = max(best[name].get(k, 0), v)
    print(f"{'metric':<20} {'lbx-netd':>10} {'qemu-user':>10} {'ratio':>7}")
    for k in best["lbx-netd"]:
        mine, peer = best["lbx-netd"][k], best["qemu-user"][k]
        print(f"{k:<20} {mine:>10.2f} {peer:>10.2f} {mine / peer:>7.2f}")


if __name__ == "__main__":
    main()
