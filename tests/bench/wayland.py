#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Wayland frames: frames per second and bytes carried per frame, in one
run, for three paths to the same headless weston:

  direct     the client on weston's socket
  lbx        lbx-wayland-guest -> unix socket -> lbx-wayland-proxy
  waypipe    Debian's waypipe server -> unix socket -> waypipe client

Workloads: weston-simple-shm (250x250, animating, frames counted from its
WAYLAND_DEBUG log, the same overhead on every path) and wl-paint (ours) at
1920x1080 repainting a 64x64 square per frame. Bytes are counted by a relay
on the unix socket between the two halves. Prints a table and ratios; a
benchmark, it fails only when a path does not work.

    tests/bench/wayland.py [BUILD]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD  # noqa: E402
from testlib import stop_process  # noqa: E402

SECONDS = float(os.environ.get("LBX_BENCH_SECONDS", "4"))
LIVE = []


class Relay:
    """A unix socket that forwards to another and counts the bytes."""

    def __init__(self, listen, target):
        self.target, self.bytes = target, 0
        self.lock = threading.Lock()
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(listen)
        self.s.listen(16)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                a, _ = self.s.accept()
            except OSError:
                return
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.target)
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self.pump, args=(x, y), daemon=True).start()

    def pump(self, x, y):
        try:
            while True:
                d = x.recv(1 << 20)
                if not d:
                    break
                with self.lock:
                    self.bytes += len(d)
                y.sendall(d)
        except OSError:
            pass
        for s in (x, y):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        with self.lock:
            n, self.bytes = self.bytes, 0
        return n


def start(cmd, env, **kw):
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    LIVE.append(p)
    return p


def wait_path(p):
    for _ in range(1000):
        if os.path.exists(p):
            return
        time.sleep(0.01)
    raise RuntimeError("%s did not appear" % p)


def simple_shm(env, display):
    """Frames weston-simple-shm commits in SECONDS."""
    e = dict(env, WAYLAND_DISPLAY=display, WAYLAND_DEBUG="client")
    p = subprocess.Popen(["weston-simple-shm"], env=e, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    LIVE.append(p)
    frames, t0 = 0, time.monotonic()
    for line in p.stderr:
        if b".commit()" in line and b"wl_surface@" in line:
            frames += 1
        if time.monotonic() - t0 >= SECONDS:
            break
    stop_process(p)
    return frames / SECONDS, frames


def paint(env, display):
    """wl-paint 1920x1080, 64x64 damage per frame: frames per second."""
    n = max(30, int(SECONDS * 30))
    r = subprocess.run([os.path.join(BUILD, "wayland-proxy", "tests", "wl-paint"), "-w", "1920",
                        "-h", "1080", "-d", "64", "-f", str(n)],
                       env=dict(env, WAYLAND_DISPLAY=display), capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError("wl-paint on %s: %s" % (display, r.stderr.strip()))
    secs = float(r.stdout.split()[3])
    return n / secs, n + 1  # the first frame is the whole buffer


def main():
    for prog in ("weston", "weston-simple-shm", "waypipe"):
        if not shutil.which(prog):
            print("wayland bench: %s is not installed (build-aux/setup.sh installs it)" % prog)
            return 0
    tmp = tempfile.mkdtemp(prefix="lbx-wl-bench-")
    run = os.path.join(tmp, "run")
    os.mkdir(run, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=run)
    env.pop("WAYLAND_DISPLAY", None)
    start(["weston", "--backend=headless-backend.so", "--socket=wl-host", "--use-pixman",
           "--idle-time=0", "--width=2048", "--height=1200"], env)
    wait_path(os.path.join(run, "wl-host"))
    host = os.path.join(run, "wl-host")

    # lbx: guest -> relay -> proxy
    start([os.path.join(BUILD, "wayland-proxy", "lbx-wayland-proxy"), "--listen",
           os.path.join(tmp, "proxy.sock"), "--compositor", host], env)
    wait_path(os.path.join(tmp, "proxy.sock"))
    lbx_relay = Relay(os.path.join(tmp, "lbx-relay.sock"), os.path.join(tmp, "proxy.sock"))
    start([os.path.join(BUILD, "wayland-proxy", "lbx-wayland-guest"), "--listen",
           os.path.join(run, "wl-lbx"), "--connect", "unix:" + os.path.join(tmp, "lbx-relay.sock")],
          env)
    wait_path(os.path.join(run, "wl-lbx"))

    # waypipe: server (the app's side) -> relay -> client (the compositor's side)
    wp_client = os.path.join(tmp, "wp-client.sock")
    start(["waypipe", "--socket", wp_client, "client"], dict(env, WAYLAND_DISPLAY="wl-host"))
    wait_path(wp_client)
    wp_relay = Relay(os.path.join(tmp, "wp-relay.sock"), wp_client)
    wp_display = os.path.join(run, "wl-waypipe")
    start(["waypipe", "--socket", os.path.join(tmp, "wp-relay.sock"), "--display", wp_display,
           "server", "--", "sleep", "100000"], env)
    wait_path(wp_display)

    rows = []
    for work, fn in (("weston-simple-shm 250x250", simple_shm),
                     ("wl-paint 1920x1080, 64x64 damage", paint)):
        for path, display, relay in (("direct", "wl-host", None),
                                     ("lbx", "wl-lbx", lbx_relay),
                                     ("waypipe", wp_display, wp_relay)):
            if relay:
                relay.take()
            fps, frames = fn(env, display)
            time.sleep(0.3)
            carried = relay.take() if relay else 0
            rows.append((work, path, fps, carried / max(frames, 1) if relay else None))
    print("%-34s %-8s %8s %14s" % ("workload", "path", "fps", "bytes/frame"))
    for work, path, fps, bpf in rows:
        print("%-34s %-8s %8.1f %14s" % (work, path, fps, "-" if bpf is None else "%.0f" % bpf))
    for work in sorted({r[0] for r in rows}):
        got = {r[1]: r for r in rows if r[0] == work}
        lbx, wp = got["lbx"], got["waypipe"]
        print("%s: lbx/waypipe fps %.2f, bytes per frame %.2f" % (
            work, lbx[2] / max(wp[2], 1e-9), (lbx[3] or 0) / max(wp[3] or 1, 1)))
    return 0


try:
    rc = main()
finally:
    for p in LIVE:
        stop_process(p, timeout=5)
sys.exit(rc)
