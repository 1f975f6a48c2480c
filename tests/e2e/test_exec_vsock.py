#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx exec into a running box over vsock: lbx (host) -> lbx-vsockd (our
vhost-user-vsock backend) -> QEMU's vhost-user-vsock-device -> the guest
kernel's virtio-vsock -> lbx-agent's exec service."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Box, VhostUserVsock, binaries_overlay, main  # noqa: E402


def test_exec_over_vsock(t):
    vs = VhostUserVsock()
    with Box(devices=[vs], hostname="vsock-box").start() as box:
        ready = box.wait_ready()
        t.ok(ready, "agent with the exec service reports ready", box.text())
        if not ready:
            return
        uds = ["--vsock-uds", vs.uds]

        r = box.lbx(["exec"] + uds + ["--", "sh", "-c", "hostname; echo to-stderr >&2"])
        t.eq(r.returncode, 0, "lbx exec returns 0", r.stderr)
        t.eq(r.stdout, b"vsock-box\n", "stdout crosses vsock")
        t.eq(r.stderr, b"to-stderr\n", "stderr is kept apart")

        r = box.lbx(["exec"] + uds + ["--", "sh", "-c", "exit 42"])
        t.eq(r.returncode, 42, "exit status 42 reaches the host")
        r = box.lbx(["exec"] + uds + ["--", "false"])
        t.eq(r.returncode, 1, "false gives 1")
        r = box.lbx(["exec"] + uds + ["--", "sh", "-c", "kill -KILL $$"])
        t.eq(r.returncode, 128 + 9, "killed by SIGKILL gives 137")
        r = box.lbx(["exec"] + uds + ["--", "/no/such/cmd"])
        t.eq(r.returncode, 127, "missing command gives 127")
        t.ok(b"cannot run /no/such/cmd" in r.stderr, "and says why", r.stderr)

        data = bytes((i * 31 + i // 977) & 0xFF for i in range(2 * 1024 * 1024))
        r = box.lbx(["exec"] + uds + ["--", "cat"], input=data, timeout=300)
        t.ok(r.returncode == 0 and r.stdout == data,
             "2 MiB round trip through cat in the guest, byte for byte",
             f"rc {r.returncode}, got {len(r.stdout)} bytes; {r.stderr!r}")

        r = box.lbx(["exec"] + uds + ["-w", "/tmp", "-e", "GREETING=hi there", "--",
                                      "sh", "-c", "pwd; echo $GREETING"])
        t.eq(r.stdout, b"/tmp\nhi there\n", "working directory and environment")

        r = box.lbx(["exec"] + uds + ["-t", "--", "sh", "-c", "test -t 1 && echo tty"])
        t.ok(r.returncode == 0 and b"tty" in r.stdout, "-t gives the command a terminal",
             r.stdout + r.stderr)

        rs = [box.lbx(["exec"] + uds + ["--", "echo", str(i)]) for i in range(5)]
        t.ok([x.stdout for x in rs] == [f"{i}\n".encode() for i in range(5)],
             "five sessions in a row, each its own connection")

        r = box.lbx(["exec", "--vsock-uds", vs.uds + ".missing", "--", "true"])
        t.ok(r.returncode == 125 and b"cannot reach" in r.stderr,
             "an unreachable box is one clear error line", r.stderr)


def test_nothing_listening(t):
    vs = VhostUserVsock()
    with Box(devices=[vs]).start(serve_port=2000) as box:
        if not t.ok(box.wait_ready(), "box up with the service on port 2000", box.text()):
            return
        # lbx exec goes to port 1024, where nothing listens: the guest answers RST.
        r = box.lbx(["exec", "--vsock-uds", vs.uds, "--", "true"])
        t.ok(r.returncode == 125 and b"nothing listens on port 1024" in r.stderr,
             "connecting to a port nothing listens on is refused", r.stderr)


def test_sessions_cannot_drive_the_agent(t):
    """A process in the box reaches the agent's vsock port through the
    loopback transport (Landlock does not govern vsock); the agent serves
    only the host, CID 2."""
    vs = VhostUserVsock()
    with Box(devices=[vs], overlays=[binaries_overlay(["socat"])]).start() as box:
        if not t.ok(box.wait_ready(), "box up", box.text()):
            return
        uds = ["--vsock-uds", vs.uds]
        for cid, what in ((1, "the loopback CID 1"), (3, "the box's own CID 3")):
            before = box.text().count("refused a vsock connection from CID")
            r = box.lbx(["exec"] + uds + ["--", "sh", "-c",
                                          f"echo hello | socat -t 5 - VSOCK-CONNECT:{cid}:1024"],
                        timeout=120)
            deadline = time.monotonic() + 30  # the console may trail the session a little
            while (box.text().count("refused a vsock connection from CID") == before and
                   time.monotonic() < deadline):
                time.sleep(0.1)
            refused = box.text().count("refused a vsock connection from CID") > before
            t.ok(refused and r.stdout == b"",
                 f"a session connecting to the exec port through {what} is refused",
                 r.stdout + r.stderr + box.text()[-1500:].encode())
        r = box.lbx(["exec"] + uds + ["--", "echo", "still-served"])
        t.eq(r.stdout, b"still-served\n", "and the host is still served")


if __name__ == "__main__":
    main([test_exec_over_vsock, test_nothing_listening, test_sessions_cannot_drive_the_agent])
