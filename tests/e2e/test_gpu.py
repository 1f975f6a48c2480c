#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A box with "gpu": true on engine qemu: the supervisor runs lbx-gpud
(virglrenderer on the host's EGL, llvmpipe here), QEMU's vhost-user-gpu
on virtio-mmio connects to it, the guest kernel's virtio-gpu driver binds
with 3D (virgl) and makes /dev/dri/card0 and renderD128, and guest
programs open them as root and as the box's ordinary user.

QEMU 7.2's vhost-user-gpu needs KVM (its vhost-user back-end object
refuses TCG), so on a host whose KVM cannot run Linux lbx up refuses the
box in one line and this test skips; tests/nested/test_nested_gpu.py runs
it inside the nested layer's L1, which has a real KVM. Real CLI, private
XDG directories."""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, approve_first, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env, stop_process  # noqa: E402


def box(t, tmp, env, definition):
    project = os.path.join(tmp, "proj")
    os.makedirs(project, exist_ok=True)
    with open(os.path.join(project, "lbx.json"), "w") as f:
        json.dump(definition, f)
    exe = os.path.join(build_dir(), "lbx", "lbx")

    def lbx(*args, timeout=600):
        return approve_first(lambda *a: subprocess.run(
            [exe] + list(a), cwd=project, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout), args)
    return lbx


def box_logs(env):
    d = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj")
    out = b""
    for f in ("supervisor.log", "engine.log", "backends.log", "console.log"):
        p = os.path.join(d, f)
        if os.path.exists(p):
            out += b"\n== " + f.encode() + b"\n" + open(p, "rb").read()[-6000:]
    return out


# gpu-draw runs in the busybox box with the host's Mesa, from a read-only
# mount of the host's /usr, through the host's dynamic loader.
HOST_LIB = "/host/usr/lib/x86_64-linux-gnu"
MESA_ENV = ("LIBGL_DRIVERS_PATH=%s/dri __EGL_VENDOR_LIBRARY_DIRS=/host/usr/share/glvnd/egl_vendor.d "
            "GBM_BACKENDS_PATH=%s/gbm MESA_SHADER_CACHE_DISABLE=true" % (HOST_LIB, HOST_LIB))
DRAW = "env %s %s/ld-linux-x86-64.so.2 --library-path %s ./gpu-draw" % (MESA_ENV, HOST_LIB,
                                                                        HOST_LIB)


def threads_of(names):
    """Where each thread of the processes called names is (state, wchan, syscall):
    what a hung GPU path is waiting for."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            comm = open("/proc/%s/comm" % pid).read().strip()
        except OSError:
            continue
        if not any(comm.startswith(n[:15]) for n in names):
            continue
        for tid in sorted(os.listdir("/proc/%s/task" % pid)):
            base = "/proc/%s/task/%s/" % (pid, tid)
            try:
                state = [x for x in open(base + "status") if x.startswith("State:")][0].split()[1]
                wchan = open(base + "wchan").read()
                sc = open(base + "syscall").read().split()[0]
                tname = open(base + "comm").read().strip()
            except (OSError, IndexError):
                continue
            out.append("%s %s/%s %s state %s wchan %s syscall %s"
                       % (comm, pid, tid, tname, state, wchan, sc))
    return "\n".join(out)


def timed_exec(lbx, env, what, *args, timeout=240):
    """lbx exec that, when it does not end, reports where the GPU path stands."""
    try:
        return lbx("exec", *args, timeout=timeout), None
    except subprocess.TimeoutExpired:
        return None, ("%s did not end in %d s; the host's side:\n%s\n%s" % (
            what, timeout, threads_of(["lbx-gpud", "qemu-system-x86_64", "lbx-vmm"]),
            box_logs(env).decode(errors="replace")[-4000:]))


def test_gpu_box(t):
    qemu_binary()
    gpud = os.path.join(build_dir(), "backends", "gpu", "lbx-gpud")
    draw = os.path.join(build_dir(), "backends", "gpu", "gpu-draw")
    if not os.path.exists(gpud):
        raise Skip("lbx-gpud was not built (install libvirglrenderer-dev and libepoxy-dev)")
    if subprocess.run(["qemu-system-x86_64", "-device", "help"], stdout=subprocess.PIPE,
                      text=True).stdout.find('"vhost-user-gpu"') < 0:
        raise Skip("this QEMU has no vhost-user-gpu device")
    tmp = tempfile.mkdtemp(prefix="lbx-gpu-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    engine = os.environ.get("LBX_GPU_ENGINE", "qemu")
    lbx = box(t, tmp, env, {"image": "busybox", "engine": engine, "gpu": True,
                            "mounts": [{"host": "/usr", "guest": "/host/usr", "mode": "ro"}]})
    if os.path.exists(draw):
        shutil.copy(draw, os.path.join(tmp, "proj", "gpu-draw"))
    try:
        r = lbx("up")
        if r.returncode != 0 and b"needs engine qemu with KVM" in r.stderr:
            # QEMU 7.2's vhost-user-gpu refuses TCG; the nested layer runs this with KVM.
            raise Skip("QEMU's vhost-user-gpu needs KVM, which cannot run Linux guests here "
                       "(tests/nested/test_nested_gpu.py runs this test in L1)")
        if r.returncode != 0 and engine == "vm" and b"KVM" in r.stderr:
            raise Skip("engine vm needs a KVM that runs Linux guests")
        if not t.ok(r.returncode == 0, "lbx up with \"gpu\": true (engine %s)" % engine,
                    r.stderr + box_logs(env)):
            return
        st = json.loads(lbx("status", "proj", "--json").stdout)
        t.ok("lbx-gpud" in [p["role"] for p in st["state"]["processes"]],
             "the supervisor runs lbx-gpud (engine %s)" % engine)
        r = lbx("exec", "--root", "proj", "--", "sh", "-c",
                "ls /dev/dri; dmesg | grep -i 'virgl\\|virtio_gpu\\|\\[drm\\]' | head -5;"
                "stat -c 'owner %u mode %a' /dev/dri/renderD128")
        out = r.stdout.decode(errors="replace")
        t.ok("card0" in out and "renderD128" in out,
             "the guest has /dev/dri/card0 and renderD128", out + r.stderr.decode())
        t.ok("virgl 3d acceleration enabled" in out.lower() or
             "features: +virgl" in out.lower(),
             "the guest's virtio-gpu driver runs with virgl 3D", out)
        uid = os.getuid()
        if uid == 0:
            t.skip("the render node is the box user's",
                   "the box user is root here (lbx run as root)")
        else:
            t.ok("owner %d mode 660" % uid in out, "the render node is the box user's (0660)", out)
        if not os.path.exists(draw):
            t.skip("a GL program in the guest draws through virgl",
                   "gpu-draw was not built (libegl-dev, libgles-dev, libgbm-dev)")
        else:
            for root in (["--root"], []):
                who = "root" if root else "the box user"
                r, hung = timed_exec(lbx, env, "gpu-draw as %s" % who, *root, "proj", "--",
                                     "sh", "-c", DRAW)
                if hung:
                    t.ok(False, "a GLES program in the guest, as %s, renders on virgl and "
                         "draws (%s)" % (who, engine), hung)
                    continue
                out = r.stdout.decode(errors="replace")
                t.ok(r.returncode == 0 and "renderer: virgl" in out,
                     "a GLES program in the guest, as %s, renders on virgl and draws (%s)"
                     % (who, engine),
                     out + r.stderr.decode(errors="replace")[-1500:] +
                     (box_logs(env).decode(errors="replace")[-4000:] if r.returncode else ""))
        lbx("down", "proj", timeout=120)
        logs = box_logs(env).decode(errors="replace")
        t.ok("renderer: " in logs and "EGL surfaceless" in logs,
             "lbx-gpud says which renderer it got",
             [x for x in logs.splitlines() if "renderer" in x])
        refused = [x for x in logs.splitlines() if x.startswith("lbx-gpud:") and "refused" in x]
        t.ok(not refused, "lbx-gpud refused none of the guest driver's commands", refused[:10])
    finally:
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)


def png_rgb(path):
    """The pixels of weston's screenshot, through the Wayland tests' PNG reader."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "wayland-proxy", "tests"))
    import test_wayland as wl  # noqa: E402  (its main() does not run on import)
    return wl.png_rgba(path)


def screenshot(wenv, tmp):
    """A fresh weston-screenshooter PNG of the host's output in tmp: its path, or None."""
    for f in os.listdir(tmp):
        if f.startswith("wayland-screenshot"):
            os.unlink(os.path.join(tmp, f))
    subprocess.run(["weston-screenshooter"], env=wenv, cwd=tmp, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shots = [f for f in os.listdir(tmp) if f.startswith("wayland-screenshot")]
    return os.path.join(tmp, shots[0]) if shots else None


def colourful(path):
    """Pixels of a screenshot whose channels differ by more than 100: drawn, not grey."""
    _, _, bpp, rows = png_rgb(path)
    n = 0
    for row in rows:
        for r_, g_, b_ in zip(row[0::bpp], row[1::bpp], row[2::bpp]):
            if max(r_, g_, b_) - min(r_, g_, b_) > 100:
                n += 1
    return n


def simple_egl(t, lbx, env, wenv, tmp, live):
    """weston-simple-egl, an ordinary Mesa EGL Wayland client (as editors' GL is), from
    the host's /usr: Mesa picks the GPU from the proxy's dmabuf feedback, renders on
    virgl and shows the frames through the proxy's GPU path."""
    if not shutil.which("weston-simple-egl"):
        t.skip("weston-simple-egl renders on virgl through the proxy",
               "weston-simple-egl is not installed (Debian: weston)")
        return
    def shot():
        path = screenshot(wenv, tmp)
        return colourful(path) if path else -1

    # gpu-draw's window (blue and red) is gone first: the output is grey again
    base = shot()
    for _ in range(12):
        if 0 <= base < 500:
            break
        time.sleep(5)
        base = shot()
    if not t.ok(0 <= base < 500, "gpu-draw's window is gone from the host's output "
                "(%d coloured pixels)" % base):
        return
    client = subprocess.Popen(
        [os.path.join(build_dir(), "lbx", "lbx"), "exec", "proj", "--", "sh", "-c",
         "env %s EGL_LOG_LEVEL=debug %s/ld-linux-x86-64.so.2 --library-path %s "
         "/host/usr/bin/weston-simple-egl -o 2>&1" % (MESA_ENV, HOST_LIB, HOST_LIB)],
        cwd=os.path.join(tmp, "proj"), env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    live.append(client)
    seen = 0
    deadline = time.time() + 240
    while time.time() < deadline and client.poll() is None:
        time.sleep(5)
        seen = shot()
        if seen > base + 1000:
            break
    alive = client.poll() is None
    stop_process(client)
    out = client.stdout.read().decode(errors="replace")
    t.ok(alive and seen > base + 1000,
         "weston-simple-egl in the guest: the host's screenshot shows its triangle "
         "(%d coloured pixels)" % seen,
         out[-3000:] + box_logs(env).decode(errors="replace")[-2000:])


def test_gpu_wayland_box(t):
    """Frames from the guest's GPU to the host's desktop: gpu-draw -W renders
    with virgl into a GBM buffer and shows it through zwp_linux_dmabuf_v1;
    lbx-wayland-guest sends its virtio-gpu resource id, lbx-wayland-proxy
    reads the damage back from lbx-gpud's frames socket into a wl_shm buffer
    of its own, and weston's screenshot on this side shows the drawing."""
    qemu_binary()
    if os.environ.get("LBX_GPU_WAYLAND") == "0":
        raise Skip("LBX_GPU_WAYLAND=0: the Wayland GPU path is not run on this engine here "
                   "(the nested layer runs it on engine qemu only, for time)")
    gpud = os.path.join(build_dir(), "backends", "gpu", "lbx-gpud")
    draw = os.path.join(build_dir(), "backends", "gpu", "gpu-draw")
    if not os.path.exists(gpud):
        raise Skip("lbx-gpud was not built (install libvirglrenderer-dev and libepoxy-dev)")
    for prog in ("weston", "weston-screenshooter"):
        if not shutil.which(prog):
            raise Skip("%s is not installed (Debian: weston)" % prog)
    if not os.path.exists(draw) or b"-W" not in subprocess.run(
            [draw, "-x"], stderr=subprocess.PIPE).stderr:
        raise Skip("gpu-draw was built without libwayland-client (no -W)")
    tmp = tempfile.mkdtemp(prefix="lbx-gpu-wl-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    env.pop("DISPLAY", None)
    engine = os.environ.get("LBX_GPU_ENGINE", "qemu")
    lbx = box(t, tmp, env, {"image": "busybox", "engine": engine, "gpu": True, "wayland": {},
                            "mounts": [{"host": "/usr", "guest": "/host/usr", "mode": "ro"}]})
    shutil.copy(draw, os.path.join(tmp, "proj", "gpu-draw"))
    live = []
    try:
        wenv = dict(env, WAYLAND_DISPLAY="wl-host")
        weston = subprocess.Popen(
            ["weston", "--backend=headless-backend.so", "--socket=wl-host", "--debug",
             # small: the screenshot is decoded in pure Python, slow under L1's TCG
             "--use-pixman", "--idle-time=0", "--width=320", "--height=240"],
            env=wenv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        live.append(weston)
        sock = os.path.join(env["XDG_RUNTIME_DIR"], "wl-host")
        for _ in range(1000):
            if os.path.exists(sock) or weston.poll() is not None:
                break
            time.sleep(0.01)
        if not t.ok(os.path.exists(sock), "weston runs headless on a private socket"):
            return
        env["WAYLAND_DISPLAY"] = "wl-host"
        r = lbx("up")
        if r.returncode != 0 and b"needs engine qemu with KVM" in r.stderr:
            raise Skip("QEMU's vhost-user-gpu needs KVM, which cannot run Linux guests here "
                       "(tests/nested/test_nested_gpu.py runs this test in L1)")
        if r.returncode != 0 and engine == "vm" and b"KVM" in r.stderr:
            raise Skip("engine vm needs a KVM that runs Linux guests")
        if not t.ok(r.returncode == 0, "lbx up with gpu and wayland (engine %s)" % engine,
                    r.stderr + box_logs(env)):
            return
        w, h = 120, 90
        client = subprocess.Popen(
            [os.path.join(build_dir(), "lbx", "lbx"), "exec", "proj", "--", "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8 9 10; do "
             '[ -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY" ] && break; sleep 0.5; done; '
             + DRAW + " -W -w %d -h %d -n 5 -s 30" % (w, h)],
            cwd=os.path.join(tmp, "proj"), env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        live.append(client)
        out = b""
        deadline = time.time() + 240
        while b"presented:" not in out and time.time() < deadline and client.poll() is None:
            out += client.stdout.read1(4096)
        text = out.decode(errors="replace")
        if not t.ok("presented: 5" in text and "renderer: virgl" in text,
                    "a GLES program in the guest renders on virgl into a dmabuf and shows 5 "
                    "frames through the proxy (engine %s)" % engine,
                    text + (client.stderr.read1(8192).decode(errors="replace")
                            if client.poll() is not None else "") +
                    box_logs(env).decode(errors="replace")[-3000:]):
            return
        path = screenshot(wenv, tmp)
        if t.ok(path, "a screenshot of the host's output"):
            sw, sh, bpp, rows = png_rgb(path)
            seen = collections.Counter()
            for row in rows:
                seen.update(zip(row[0::bpp], row[1::bpp], row[2::bpp]))
            red = sum(n for (r_, g_, b_), n in seen.items() if r_ > 200 and g_ < 50 and b_ < 50)
            blue = sum(n for (r_, g_, b_), n in seen.items()
                       if r_ < 50 and g_ < 50 and 120 < b_ < 190)
            # gpu-draw's drawing: dark blue with a red triangle of 0.1375 of the area
            area = w * h
            t.ok(0.8 * 0.8625 * area <= blue <= 1.2 * 0.8625 * area and
                 0.7 * 0.1375 * area <= red <= 1.3 * 0.1375 * area,
                 "the host's screenshot shows the guest's GPU drawing: %d blue and %d red "
                 "pixels (expected about %d and %d)"
                 % (blue, red, 0.8625 * area, 0.1375 * area))
        stop_process(client)
        simple_egl(t, lbx, env, wenv, tmp, live)
        lbx("down", "proj", timeout=120)
        logs = box_logs(env).decode(errors="replace")
        read = [x for x in logs.splitlines() if "read back from the GPU" in x]
        t.ok(any(" 0 bytes read back" not in x for x in read),
             "lbx-wayland-proxy counted the bytes it read back from lbx-gpud", read[-3:])
        if shutil.which("weston-simple-egl"):
            # Mesa's EGL Wayland platform on the proxy's dmabuf feedback: GPU buffers, not shm
            egl = [x for x in read if re.search(r", [1-9][0-9]* dmabuf feedbacks", x)]
            t.ok(egl and all(" 0 bytes read back" not in x for x in egl),
                 "weston-simple-egl took the dmabuf feedback and its frames came from the "
                 "GPU (read back, not shm)", read[-3:])
        for x in read:
            t.note("proxy: " + x.split(": ", 1)[-1])
    finally:
        for p in live:
            stop_process(p, timeout=5)
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_gpu_box, test_gpu_wayland_box])
