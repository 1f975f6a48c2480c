#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-wayland-guest and lbx-wayland-proxy against a real weston (headless
backend, pixman renderer, --debug for the screenshooter and the protocol
log), started here on a socket in a private XDG_RUNTIME_DIR.

    test_wayland.py PATH/TO/lbx-wayland-proxy PATH/TO/lbx-wayland-guest

Prints TAP. Real clients (wayland-info, weston-simple-shm,
weston-screenshooter, weston-debug) run through the proxy pair; the
hostile streams are written here, as a guest half gone bad would.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..", "tests"))
from testlib import Tap, stop_process  # noqa: E402

PROXY = GUEST = None  # set from argv when run as the test
t = Tap()
LIVE = []

# What weston offers that no box may see (TESTING.md lists them).
PRIVILEGED = ["weston_screenshooter", "weston_desktop_shell", "zwp_input_panel_v1",
              "weston_debug_v1", "zwp_text_input_manager_v1"]


def start(cmd, env, **kw):
    p = subprocess.Popen(cmd, env=env, stdout=kw.pop("stdout", subprocess.DEVNULL),
                         stderr=kw.pop("stderr", subprocess.PIPE), **kw)
    LIVE.append(p)
    return p


def wait_path(path, proc, what):
    """Until path is a socket that takes connections (it exists from bind on,
    before listen)."""
    for _ in range(1000):
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except ConnectionRefusedError:
                pass
            finally:
                s.close()
        if proc.poll() is not None:
            raise RuntimeError("%s exited early: %s" % (what, proc.stderr.read().decode()))
        time.sleep(0.01)
    raise RuntimeError("%s did not create %s" % (what, path))


def client(env, display, cmd, timeout=20, debug=False):
    e = dict(env, WAYLAND_DISPLAY=display)
    if debug:
        e["WAYLAND_DEBUG"] = "1"
    try:
        r = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout,
                           errors="replace", cwd=env["LBX_TEST_CWD"])
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as ex:
        out = ex.stdout.decode(errors="replace") if isinstance(ex.stdout, bytes) else ex.stdout
        err = ex.stderr.decode(errors="replace") if isinstance(ex.stderr, bytes) else ex.stderr
        return None, out or "", err or ""


def globals_of(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("interface:"):
            name = line.split("'")[1]
            ver = int(line.split("version:")[1].split(",")[0])
            out[name] = ver
    return out


def png_rgba(path):
    """Decode the screenshooter's PNG (8-bit RGBA or RGB, not interlaced)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def colourful(path):
    """Bounding box and count of saturated pixels: weston's desktop is grey,
    simple-shm's pattern is not."""
    w, h, bpp, rows = png_rgba(path)
    n, box = 0, [w, h, -1, -1]
    for y in range(h):
        r = rows[y]
        for x in range(0, w, 2):
            px = r[x * bpp:x * bpp + 3]
            if max(px) - min(px) > 60:
                n += 1
                box = [min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)]
    return n, box


def screenshot(env, display, cmd, name):
    """Run cmd on display, take a screenshot on the host side, stop cmd."""
    cwd = env["LBX_TEST_CWD"]
    for f in os.listdir(cwd):
        if f.startswith("wayland-screenshot"):
            os.unlink(os.path.join(cwd, f))
    p = start(cmd, dict(env, WAYLAND_DISPLAY=display), cwd=cwd)
    time.sleep(1.5)
    rc, out, err = client(env, "wl-host", ["weston-screenshooter"], timeout=20)
    alive = p.poll() is None
    stop_process(p)
    shots = [f for f in os.listdir(cwd) if f.startswith("wayland-screenshot")]
    if not shots:
        return alive, rc, None, err
    os.rename(os.path.join(cwd, shots[0]), os.path.join(cwd, name))
    return alive, rc, os.path.join(cwd, name), err


# ---- a guest half gone bad: frames written by hand ----

def frame(typ, payload):
    return struct.pack("<II", typ, len(payload)) + payload


def msg(obj, op, args=b""):
    return struct.pack("<II", obj, (8 + len(args)) << 16 | op) + args


def wstr(s):
    b = s.encode() + b"\0"
    return struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4)


def u32(*v):
    return struct.pack("<%dI" % len(v), *v)


MSG, FD_SHM, FD_DATA, FD_PIPE, SHM_RECT = 1, 2, 3, 4, 5


class FakeGuest:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        for _ in range(100):  # the socket file appears at bind, before listen
            try:
                self.s.connect(path)
                break
            except ConnectionRefusedError:
                time.sleep(0.02)
        self.buf = b""

    def send(self, *frames):
        try:
            self.s.sendall(b"".join(frames))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def events(self, until):
        """Read MSG frames until until(events) holds; returns the events."""
        evs = []
        while not until(evs):
            while len(self.buf) >= 8:
                typ, n = struct.unpack("<II", self.buf[:8])
                if len(self.buf) < 8 + n:
                    break
                body, self.buf = self.buf[8:8 + n], self.buf[8 + n:]
                if typ == MSG:
                    evs.append(body)
            if until(evs):
                break
            d = self.s.recv(65536)
            if not d:
                break
            self.buf += d
        return evs

    def registry(self):
        """get_registry + sync: {interface: name}."""
        self.send(frame(MSG, msg(1, 1, u32(2))), frame(MSG, msg(1, 0, u32(3))))
        evs = self.events(lambda e: any(struct.unpack("<I", m[:4])[0] == 3 for m in e))
        g = {}
        for m in evs:
            obj, word = struct.unpack("<II", m[:8])
            if obj == 2 and word & 0xffff == 0:
                name, slen = struct.unpack("<II", m[8:16])
                g[m[16:16 + slen - 1].decode()] = name
        return g

    def closed(self):
        """True when the proxy ends this stream."""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


def bind_shm(g, reg):
    g.send(frame(MSG, msg(2, 0, u32(reg["wl_shm"]) + wstr("wl_shm") + u32(1, 4))))


HOSTILE = [
    ("a message whose size is not a multiple of 4",
     lambda g, r: g.send(frame(MSG, struct.pack("<II", 1, 10 << 16 | 0) + b"\0\0"))),
    ("a request to an unknown object id",
     lambda g, r: g.send(frame(MSG, msg(55, 0, u32(9))))),
    ("an unknown opcode",
     lambda g, r: g.send(frame(MSG, msg(1, 7, u32(9))))),
    ("an fd where the message declares none",
     lambda g, r: g.send(frame(FD_SHM, u32(1)), frame(MSG, msg(1, 0, u32(9))))),
    ("a pool whose fd was not sent",
     lambda g, r: (bind_shm(g, r), g.send(frame(MSG, msg(4, 0, u32(5, 4096)))))),
    ("a new_id already in use",
     lambda g, r: g.send(frame(MSG, msg(1, 1, u32(2))))),
    ("a new_id in the server's range",
     lambda g, r: g.send(frame(MSG, msg(1, 0, u32(0xff000010))))),
    ("a huge pool",
     lambda g, r: (bind_shm(g, r), g.send(frame(FD_SHM, u32(1)),
                                         frame(MSG, msg(4, 0, u32(5, 0x7fffffff)))))),
    ("pool contents outside the pool",
     lambda g, r: (bind_shm(g, r), g.send(frame(FD_SHM, u32(1)),
                                         frame(MSG, msg(4, 0, u32(5, 4096))),
                                         frame(SHM_RECT, u32(1, 4000, 200, 200, 1) +
                                               b"x" * 200)))),
    ("a bind of a hidden global",
     lambda g, r: g.send(frame(MSG, msg(2, 0, u32(999) + wstr("weston_screenshooter") +
                                        u32(1, 4))))),
    ("a truncated string",
     lambda g, r: g.send(frame(MSG, msg(2, 0, u32(r["wl_shm"], 64) + b"wl_shm\0\0")))),
    ("a frame longer than any frame",
     lambda g, r: g.send(struct.pack("<II", MSG, 0xffffffff))),
    ("an unknown frame type",
     lambda g, r: g.send(frame(99, b""))),
]


def ev(obj, op, args=b""):
    return msg(obj, op, args)


def clipboard_ask(env, tmp, answer):
    """The box reads the host's selection under "ask", with a real askpass
    program run by the proxy (inside its Landlock domain) and a scripted
    compositor: does the host's data reach the box?"""
    askpass = os.path.join(tmp, "askpass-%s" % answer)
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\nexit %d\n" % (0 if answer == "yes" else 1))
    os.chmod(askpass, 0o755)
    comp_path = os.path.join(tmp, "fake-comp-%s.sock" % answer)
    comp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    comp.bind(comp_path)
    comp.listen(1)
    comp.settimeout(20)
    policy = os.path.join(tmp, "ask.json")
    with open(policy, "w") as f:
        json.dump({"clipboard": {"from_host": "ask"}}, f)
    psock = os.path.join(tmp, "proxy-ask-%s.sock" % answer)
    proxy = start([PROXY, "-l", psock, "-c", comp_path, "-p", policy, "-A", askpass,
                   "-a", os.path.join(tmp, "audit-ask.log")], env)
    # no probing connection: the scripted compositor takes exactly one
    for _ in range(1000):
        if os.path.exists(psock) or proxy.poll() is not None:
            break
        time.sleep(0.01)
    g = FakeGuest(psock)
    g.send(frame(MSG, msg(1, 1, u32(2))))
    c, _ = comp.accept()
    c.settimeout(20)
    c.recv(4096)  # get_registry
    c.sendall(ev(2, 0, u32(1) + wstr("wl_seat") + u32(7)) +
              ev(2, 0, u32(2) + wstr("wl_data_device_manager") + u32(3)))
    g.events(lambda e: len(e) >= 2)
    g.send(frame(MSG, msg(2, 0, u32(1) + wstr("wl_seat") + u32(7, 3))),
           frame(MSG, msg(2, 0, u32(2) + wstr("wl_data_device_manager") + u32(3, 4))),
           frame(MSG, msg(4, 1, u32(5, 3))))
    got = b""
    while len(got) < 3 * 8 + 2 * 28 - 8:
        got += c.recv(4096)
    c.sendall(ev(5, 0, u32(0xff000000)) + ev(5, 5, u32(0xff000000)))
    g.events(lambda e: len(e) >= 2)
    g.send(frame(FD_PIPE, u32(7)), frame(MSG, msg(0xff000000, 1, wstr("text/plain"))))
    data, fds, _, _ = socket.recv_fds(c, 4096, 4)
    if fds:
        try:
            os.write(fds[0], b"host secret")
        except BrokenPipeError:
            pass  # a quick "no" closed the proxy's end first
        for fd in fds:
            os.close(fd)
    # what reaches the box: PIPE_DATA (6) and PIPE_CLOSE (7) frames
    frames, buf = [], g.buf
    g.s.settimeout(20)
    while not any(f[0] == 7 for f in frames):
        d = g.s.recv(65536)
        if not d:
            break
        buf += d
        while len(buf) >= 8:
            typ, n = struct.unpack("<II", buf[:8])
            if len(buf) < 8 + n:
                break
            frames.append((typ, buf[8:8 + n]))
            buf = buf[8 + n:]
    g.s.close()
    c.close()
    comp.close()
    stop_process(proxy)
    carried = b"".join(p[4:] for typ, p in frames if typ == 6)
    return bool(fds), carried, any(f[0] == 7 for f in frames)


def main():
    for prog in ("weston", "wayland-info", "weston-simple-shm", "weston-screenshooter"):
        if not shutil.which(prog):
            t.skip("weston tests", "%s is not installed (Debian: weston, wayland-utils)" % prog)
            return
    tmp = tempfile.mkdtemp(prefix="lbx-wl-")
    run = os.path.join(tmp, "run")
    os.mkdir(run, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=run, LBX_TEST_CWD=tmp)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("DISPLAY", None)
    weston = start(["weston", "--backend=headless-backend.so", "--socket=wl-host", "--debug",
                    "--use-pixman", "--width=640", "--height=480", "--idle-time=0"], env)
    wait_path(os.path.join(run, "wl-host"), weston, "weston")

    policy = os.path.join(tmp, "policy.json")
    with open(policy, "w") as f:
        json.dump({"clipboard": {"to_host": "allow", "from_host": "deny"}}, f)
    audit = os.path.join(tmp, "audit.log")
    psock = os.path.join(tmp, "proxy.sock")
    proxy = start([PROXY, "--listen", psock, "--compositor", os.path.join(run, "wl-host"),
                   "--policy", policy, "--audit-log", audit, "--box", "test"], env)
    wait_path(psock, proxy, "lbx-wayland-proxy")
    guest = start([GUEST, "--listen", os.path.join(run, "wl-box"),
                   "--connect", "unix:" + psock], env)
    wait_path(os.path.join(run, "wl-box"), guest, "lbx-wayland-guest")

    # ---- globals ----
    rc, out, err = client(env, "wl-host", ["wayland-info"])
    direct = globals_of(out)
    t.ok(rc == 0 and all(p in direct for p in PRIVILEGED),
         "weston offers its privileged globals directly", err)
    rc, out, err = client(env, "wl-box", ["wayland-info"])
    boxed = globals_of(out)
    t.ok(rc == 0 and "wl_compositor" in boxed and "xdg_wm_base" in boxed and "wl_shm" in boxed,
         "wayland-info through the proxy pair lists the window globals", err)
    t.eq(sorted(p for p in PRIVILEGED if p in boxed), [],
         "none of weston's privileged globals crosses the proxy")
    t.eq(sorted(set(boxed) - set(direct)), [], "the proxy adds no global")
    lines = [json.loads(x) for x in open(audit).read().splitlines()]
    t.ok(any(x["event"] == "refused global" and x.get("interface") == "weston_screenshooter"
             and x.get("box") == "test" for x in lines),
         "a refused global is one JSON audit line")

    capped = os.path.join(tmp, "capped.json")
    with open(capped, "w") as f:
        json.dump({"globals": {"wl_compositor": 3, "wl_shm": 1, "xdg_wm_base": 1}}, f)
    psock2 = os.path.join(tmp, "proxy2.sock")
    proxy2 = start([PROXY, "-l", psock2, "-c", os.path.join(run, "wl-host"), "-p", capped,
                    "-a", os.path.join(tmp, "audit2.log")], env)
    wait_path(psock2, proxy2, "lbx-wayland-proxy")
    guest2 = start([GUEST, "-l", os.path.join(run, "wl-box2"), "-c", "unix:" + psock2], env)
    wait_path(os.path.join(run, "wl-box2"), guest2, "lbx-wayland-guest")
    rc, out, err = client(env, "wl-box2", ["wayland-info"])
    t.eq(globals_of(out), {"wl_compositor": 3, "wl_shm": 1, "xdg_wm_base": 1},
         "an allowlist with version caps is what the box sees", err)

    # ---- frames ----
    rc, out, err = client(env, "wl-box", ["timeout", "-s", "INT", "3", "weston-simple-shm"],
                          debug=True)
    commits = err.count(".commit()")
    dones = err.count("wl_callback@") and sum(1 for x in err.splitlines()
                                              if "wl_callback@" in x and ".done(" in x)
    t.ok(rc in (0, 130, 124) and "error" not in err.lower().replace("error_", ""),
         "weston-simple-shm runs through the pair without protocol errors",
         err[-3000:])
    t.ok(commits >= 10 and dones >= 10,
         "it commits frames and the compositor answers their callbacks (%d commits, %d done)"
         % (commits, dones))

    # ---- pixels, against a direct run ----
    alive_d, rc_d, shot_d, err_d = screenshot(env, "wl-host", ["weston-simple-shm"], "direct.png")
    alive_b, rc_b, shot_b, err_b = screenshot(env, "wl-box", ["weston-simple-shm"], "proxied.png")
    t.ok(alive_d and shot_d, "a screenshot of a direct run", err_d)
    t.ok(alive_b and shot_b, "a screenshot of a run through the proxy pair", err_b)
    if shot_d and shot_b:
        nd, bd = colourful(shot_d)
        nb, bb = colourful(shot_b)
        t.note("direct: %d pattern pixels in %s; proxied: %d in %s" % (nd, bd, nb, bb))
        size = lambda b: (b[2] - b[0], b[3] - b[1])  # noqa: E731
        t.ok(nd > 5000 and nb > 0.7 * nd and nb < 1.3 * nd,
             "the host's output shows the proxied client's pixels as the direct run's")
        sd, sb = size(bd), size(bb)
        t.ok(abs(sd[0] - sb[0]) <= 4 and abs(sd[1] - sb[1]) <= 4,
             "the proxied window's pattern has the direct one's size (%s vs %s)" % (sb, sd))

    # ---- titles ----
    if shutil.which("weston-debug"):
        log = os.path.join(tmp, "proto.log")
        with open(log, "w") as f:
            dbg = start(["weston-debug", "proto"], dict(env, WAYLAND_DISPLAY="wl-host"),
                        stdout=f)
            time.sleep(0.5)
            client(env, "wl-box", ["timeout", "-s", "INT", "1", "weston-simple-shm"])
            time.sleep(0.5)
            stop_process(dbg)
        text = open(log, errors="replace").read()
        titles = [x.split("set_title(")[1] for x in text.splitlines() if "set_title(" in x]
        t.ok(titles and all(x.startswith('"[box] ') for x in titles),
             "window titles reach the compositor with the [box] prefix", titles)
        ids = [x for x in text.splitlines() if "set_app_id(" in x]
        t.ok(ids and all('set_app_id("[box] ' in x for x in ids), "and so do app_ids")
    else:
        t.skip("titles carry [box]", "weston-debug is not installed")

    # ---- hostile streams from the guest side ----
    steady = start(["weston-simple-shm"], dict(env, WAYLAND_DISPLAY="wl-box"))
    time.sleep(0.5)
    for what, attack in HOSTILE:
        g = FakeGuest(psock)
        reg = g.registry()
        attack(g, reg)
        t.ok(g.closed(), "hostile guest stream: %s ends that client" % what)
        g.s.close()
    t.ok(proxy.poll() is None, "the proxy still runs after every hostile stream")
    t.ok(steady.poll() is None, "a client that behaved kept running through them")
    rc, out, err = client(env, "wl-box", ["wayland-info"])
    t.ok(rc == 0 and "wl_compositor" in globals_of(out), "and new clients are still served", err)
    stop_process(steady)
    au = open(audit).read()
    t.ok('"refused bind"' in au, "the refused bind is in the audit log")

    # a client that stops reading stalls only itself
    lazy = FakeGuest(psock)
    reg = lazy.registry()
    # 50000 wl_display.sync, whose answers it never reads
    lazy.send(b"".join(frame(MSG, msg(1, 0, u32(0x100 + i))) for i in range(50000)))
    rc, out, err = client(env, "wl-box", ["wayland-info"])
    t.ok(rc == 0, "a client that does not read does not stall the others", err)
    lazy.s.close()

    # ---- clipboard "ask" with a real askpass program ----
    for answer in ("yes", "no"):
        forwarded, carried, closed = clipboard_ask(env, tmp, answer)
        t.ok(forwarded, "ask (%s): the box's read reaches the compositor with a pipe" % answer)
        want = b"host secret" if answer == "yes" else b""
        t.eq(carried, want, "ask (%s): what the box gets of the host's selection" % answer)
        t.ok(closed, "ask (%s): and its pipe is closed after" % answer)

    for p, name in ((guest, "lbx-wayland-guest"), (proxy, "lbx-wayland-proxy")):
        t.eq(stop_process(p), 0, "%s exits 0 on SIGTERM" % name)


if __name__ == "__main__":
    PROXY = os.path.abspath(sys.argv[1])
    GUEST = os.path.abspath(sys.argv[2])
    try:
        main()
    except Exception as e:  # a crash of the harness is a failure, never a skip
        t.ok(False, "test harness: %s" % e)
    finally:
        for p in LIVE:
            stop_process(p, timeout=5)
    sys.exit(t.result())
