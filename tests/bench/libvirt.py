#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engine libvirt beside engine qemu, same box (busybox image), same run:
`lbx up` to ready and the `lbx exec NAME -- true` round trip. Both are
QEMU microvm under TCG with the same kernel, initramfs and backends; what
differs is libvirt in between (its session daemon, its QMP set-up, the
engine process following its events). The goal is under 10% more.
Medians; prints ratios; never fails on time.

    tests/bench/libvirt.py [BUILD_DIR]     (LBX_BENCH_RUNS, default 5)

Runs on qemu:///session as an ordinary user: the current one, or, as root
(whose qemu:///session is the system daemon), the e2e's user lbx-libvirt,
made if missing. The session daemon starts on demand with the private XDG
directories below; a warm-up run of each engine comes first, uncounted.
"""
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, EXECS_PER_RUN, ROOT, RUNS, timed  # noqa: E402

USER = "lbx-libvirt"


def bench_user():
    if os.getuid() != 0:
        return None
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        return pwd.getpwnam(USER)


def box(tmp, engine, pw):
    base = os.path.join(tmp, engine)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
    for k, d in (("XDG_RUNTIME_DIR", "run"), ("XDG_DATA_HOME", "data"),
                 ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                 ("LBX_KERNEL_DIR", "kernel")):
        env[k] = os.path.join(base, d)
        os.makedirs(env[k], mode=0o700)
    kernel = subprocess.run([os.path.join(ROOT, "kernel-config", "build-kernel.sh")],
                            stdout=subprocess.PIPE, text=True, check=True).stdout.split()[-1]
    shutil.copy(os.path.join(kernel, "vmlinux"), env["LBX_KERNEL_DIR"])
    proj = os.path.join(base, "bench")
    os.makedirs(proj)
    with open(os.path.join(proj, "lbx.json"), "w") as f:
        f.write('{"image": "busybox"}')
    if pw:
        os.chmod(tmp, 0o755)
        for dirpath, dirs, files in os.walk(base):
            for n in [dirpath] + [os.path.join(dirpath, f) for f in files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)
        env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
    else:
        env["HOME"] = os.environ.get("HOME", "/")
    return proj, env


def lbx_cmd(pw, env, *args):
    pre = ["runuser", "-u", pw.pw_name, "--"] if pw else []
    return pre + ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + \
        [os.path.join(BUILD, "lbx", "lbx")] + list(args)


def cycle(proj, env, pw, ups, execs):
    """`lbx up` to ready, EXECS_PER_RUN `lbx exec NAME -- true`, `lbx down`."""
    ups.append(timed(lbx_cmd(pw, env, "up"), cwd=proj))
    for _ in range(EXECS_PER_RUN):
        execs.append(timed(lbx_cmd(pw, env, "exec", "bench", "--", "true"), cwd=proj))
    timed(lbx_cmd(pw, env, "down", "bench"), cwd=proj)


def stop_session_daemons(env):
    for name in ("libvirtd", "virtlogd", "virtqemud"):
        try:
            with open(os.path.join(env["XDG_RUNTIME_DIR"], "libvirt", name + ".pid")) as f:
                os.kill(int(f.read().split()[0]), signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            pass


def stop_podman_pause(pw):
    """The bench's own user only: the pause process rootless podman leaves."""
    if not pw or pw.pw_name != USER:
        return
    out = subprocess.run(["ps", "-u", USER, "-o", "pid=,args="], stdout=subprocess.PIPE,
                         text=True).stdout
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if args.strip() == "podman":
            os.kill(int(pid), signal.SIGTERM)


def main():
    pw = bench_user()
    engines = ("qemu", "libvirt")
    with tempfile.TemporaryDirectory(prefix="lbx-bench-lv-") as tmp:
        boxes = {e: box(tmp, e, pw) for e in engines}
        ups, execs = {e: [] for e in engines}, {e: [] for e in engines}
        try:
            # A warm-up of each (the session daemon's first start), uncounted; then
            # the engines take turns, so that the machine's load falls on both alike.
            for e in engines:
                proj, env = boxes[e]
                timed(lbx_cmd(pw, env, "up", "--engine", e), cwd=proj)
                timed(lbx_cmd(pw, env, "down", "bench"), cwd=proj)
            for _ in range(RUNS):
                for e in engines:
                    cycle(*boxes[e], pw, ups[e], execs[e])
        finally:
            for e in engines:
                proj, env = boxes[e]
                subprocess.run(lbx_cmd(pw, env, "down", "bench"), cwd=proj,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stop_session_daemons(env)
            stop_podman_pause(pw)
        figures = {e: (statistics.median(ups[e]), statistics.median(execs[e])) for e in engines}
    (qup, qex), (lup, lex) = figures["qemu"], figures["libvirt"]
    print(f"medians of {RUNS} starts and {RUNS * EXECS_PER_RUN} execs, same box, TCG")
    print(f"  lbx up, engine qemu, to ready        {qup:8.0f} ms")
    print(f"  lbx up, engine libvirt, to ready     {lup:8.0f} ms   libvirt / qemu = {lup / qup:.2f}x")
    print(f"  lbx exec -- true, engine qemu        {qex:8.1f} ms")
    print(f"  lbx exec -- true, engine libvirt     {lex:8.1f} ms   libvirt / qemu = {lex / qex:.2f}x")
    print(f"  goal: under 1.10x; up {'meets' if lup / qup < 1.10 else 'misses'} it, "
          f"exec {'meets' if lex / qex < 1.10 else 'misses'} it")


if __name__ == "__main__":
    main()
