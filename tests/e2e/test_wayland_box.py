#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A box with a "wayland" section on engine qemu: the agent starts
lbx-wayland-guest, a Wayland client in the guest (wl-paint, static, from
the project tree) draws over vsock through lbx-wayland-proxy onto a
headless weston on the host, and the host's screenshot shows its pixels;
the title carries the [box] prefix. Real CLI, private XDG directories."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "wayland-proxy", "tests"))
from lbxtest import Skip, approve_first, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env, stop_process  # noqa: E402
import test_wayland as wl  # noqa: E402  (the PNG reader; its main() does not run on import)


def test_wayland_box(t):
    qemu_binary()
    for prog in ("weston", "weston-screenshooter", "weston-debug"):
        if not shutil.which(prog):
            raise Skip("%s is not installed (Debian: weston)" % prog)
    paint = os.path.join(build_dir(), "wayland-proxy", "tests", "wl-paint")
    tmp = tempfile.mkdtemp(prefix="lbx-wl-box-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    env.pop("DISPLAY", None)
    project = os.path.join(tmp, "proj")
    os.makedirs(project)
    shutil.copy(paint, os.path.join(project, "wl-paint"))
    with open(os.path.join(project, "lbx.json"), "w") as f:
        json.dump({"image": "busybox", "engine": "qemu", "wayland": {}}, f)
    exe = os.path.join(build_dir(), "lbx", "lbx")
    live = []

    def lbx(*args, timeout=300):
        return approve_first(lambda *a: subprocess.run(
            [exe] + list(a), cwd=project, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout), args)

    try:
        wenv = dict(env, WAYLAND_DISPLAY="wl-host")
        weston = subprocess.Popen(
            ["weston", "--backend=headless-backend.so", "--socket=wl-host", "--debug",
             "--use-pixman", "--idle-time=0", "--width=640", "--height=480"],
            env=wenv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        live.append(weston)
        sock = os.path.join(env["XDG_RUNTIME_DIR"], "wl-host")
        for _ in range(500):
            if os.path.exists(sock) or weston.poll() is not None:
                break
            time.sleep(0.01)
        if not t.ok(os.path.exists(sock), "weston runs headless on a private socket"):
            return
        env["WAYLAND_DISPLAY"] = "wl-host"
        r = lbx("up")
        if not t.ok(r.returncode == 0, "lbx up with a wayland section", r.stderr):
            return
        st = json.loads(lbx("status", "proj", "--json").stdout)
        t.ok("lbx-wayland-proxy" in [p["role"] for p in st["state"]["processes"]],
             "the supervisor runs lbx-wayland-proxy")
        r = lbx("exec", "proj", "--", "sh", "-c",
                'echo "$XDG_RUNTIME_DIR $WAYLAND_DISPLAY"; '
                'for i in 1 2 3 4 5 6 7 8 9 10; do '
                '[ -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" ] && break; sleep 0.5; done; '
                'test -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" && echo socket')
        uid = os.getuid()
        t.eq(r.stdout.decode(), "/run/user/%d wayland-0\nsocket\n" % uid,
             "sessions get XDG_RUNTIME_DIR and WAYLAND_DISPLAY for lbx-wayland-guest's socket",
             r.stderr)

        log = open(os.path.join(tmp, "proto.log"), "w")
        dbg = subprocess.Popen(["weston-debug", "proto"], env=wenv, stdout=log,
                               stderr=subprocess.DEVNULL)
        live.append(dbg)
        client = subprocess.Popen(
            [exe, "exec", "proj", "--", "./wl-paint", "-w", "200", "-h", "150", "-c", "ff00ff",
             "-t", "lbx-e2e", "-f", "10", "-d", "8", "-s", "30"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        live.append(client)
        # wait for its frames (it prints once they were all shown), then screenshot
        line = client.stdout.readline().decode()
        t.ok(line.startswith("frames 10 "), "the client in the guest drew 10 frames over vsock",
             line + client.stderr.read1().decode() if not line else line)
        for f in os.listdir(tmp):
            if f.startswith("wayland-screenshot"):
                os.unlink(os.path.join(tmp, f))
        subprocess.run(["weston-screenshooter"], env=wenv, cwd=tmp, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shots = [f for f in os.listdir(tmp) if f.startswith("wayland-screenshot")]
        if t.ok(shots, "a screenshot of the host's output"):
            w, h, bpp, rows = wl.png_rgba(os.path.join(tmp, shots[0]))
            magenta = sum(1 for y in range(h) for x in range(w)
                          if rows[y][x * bpp:x * bpp + 3] in (b"\xff\x00\xff", b"\x00\xff\x00"))
            t.ok(magenta >= 0.9 * 200 * 150 and magenta <= 1.1 * 200 * 150,
                 "the host's screenshot shows the guest client's pixels (%d of %d)"
                 % (magenta, 200 * 150))
        stop_process(client)
        time.sleep(0.3)
        stop_process(dbg)
        log.close()
        text = open(os.path.join(tmp, "proto.log"), errors="replace").read()
        titles = [x.split("set_title(")[1] for x in text.splitlines() if "set_title(" in x]
        t.eq(titles, ['"[box] lbx-e2e")'], "the window's title carries the [box] prefix")
        audit = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "wayland-audit.log")
        lines = open(audit).read().splitlines() if os.path.exists(audit) else []
        t.ok(any('"weston_screenshooter"' in x for x in lines),
             "the box's audit log names the globals it did not see")
        lbx("down", "proj", timeout=120)
    finally:
        for p in live:
            stop_process(p, timeout=5)
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_wayland_box])
