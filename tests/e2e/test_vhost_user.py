#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vhost-user back-end library against a front-end we did not write:
QEMU's vhost-user-rng on virtio-mmio, wired to vu-test-rng (our library
serving virtio-rng). The guest's virtio_rng driver reads /dev/hwrng; in
pattern mode the back-end serves a recognisable byte stream, so the test
can tell that the guest's bytes came from our back-end and nowhere else."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Box, Device, Skip, build_dir, main  # noqa: E402

# 32 distinct bytes. The guest's hwrng core reads in chunks of 32 or 64
# bytes (rng_buffer_size, add_early_randomness), so even if its fill thread
# takes a chunk between two reads of ours, every read still starts on a
# pattern boundary; the check below does not rely on that, though: it only
# asks that the bytes be a run of the repeated pattern.
PATTERN = "lbx-vhost-user-rng:0123456789ABC"


class VhostUserRng(Device):
    """QEMU's vhost-user-rng, served by tests/unit/virtio/vu-test-rng."""

    def __init__(self, pattern=None):
        self.pattern = pattern
        self.proc = None
        self.log = ""
        self.returncode = None

    def start(self, workdir):
        prog = os.path.join(build_dir(), "tests", "unit", "virtio", "vu-test-rng")
        if not os.path.exists(prog):
            raise Skip(f"{prog} is not built")
        self.sock = os.path.join(workdir, "vu-rng.sock")
        self.log_path = os.path.join(workdir, "vu-rng.log")
        args = [prog, "--socket", self.sock]
        if self.pattern:
            args += ["--pattern", self.pattern]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        # QEMU connects at start-up and fails if nobody listens yet.
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("vu-test-rng did not start listening:\n" + self.log)
            time.sleep(0.01)

    def qemu_args(self):
        return ["-chardev", f"socket,id=vurng,path={self.sock}",
                "-device", "vhost-user-rng,chardev=vurng"]

    def stop(self):
        if not self.proc:
            return
        # It exits by itself once QEMU has gone; give it a moment, then insist.
        try:
            self.returncode = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = "killed (did not exit after QEMU disconnected)"
        with open(self.log_path) as f:
            self.log = f.read()
        self.proc = None


def qemu_has_vhost_user_rng():
    from lbxtest import qemu_binary
    out = subprocess.run([qemu_binary(), "-device", "help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    return '"vhost-user-rng"' in out


SCRIPT = ("cat /sys/class/misc/hw_random/rng_current; "
          "head -c 256 /dev/hwrng | od -An -tx1 -v")


def guest_bytes(output):
    """The hex dump lines after the first line, as bytes."""
    lines = output.splitlines()[1:]
    return bytes(int(x, 16) for line in lines for x in line.split())


def served_bytes(log):
    for line in log.splitlines():
        if "served" in line:
            return int(line.split("served", 1)[1].split()[0])
    return None


def test_pattern_reaches_guest(t):
    if not qemu_has_vhost_user_rng():
        raise Skip("this QEMU has no vhost-user-rng device")
    dev = VhostUserRng(pattern=PATTERN)
    r = Box(devices=[dev]).run(["sh", "-c", SCRIPT])
    diag = r.console + "\n--- vu-test-rng ---\n" + dev.log
    t.eq(r.code, 0, "guest script ran", diag)
    t.ok(r.output.splitlines()[:1] == ["virtio_rng.0"],
         "guest bound virtio_rng to QEMU's vhost-user-rng", diag)
    got = guest_bytes(r.output)
    t.eq(len(got), 256, "guest read 256 bytes from /dev/hwrng", diag)
    stream = PATTERN.encode() * (len(got) // len(PATTERN) + 2)
    t.ok(len(got) == 256 and got in stream,
         "every byte is our back-end's pattern, in order", got)
    t.eq(dev.returncode, 0, "back-end exits cleanly when QEMU goes away", diag)
    served = served_bytes(dev.log)
    t.ok(served is not None and served >= 256, f"back-end served {served} bytes (>= 256)",
         dev.log)
    t.ok("error" not in dev.log and "warning" not in dev.log,
         "no protocol error or warning in the back-end's log", dev.log)


def test_random_mode(t):
    if not qemu_has_vhost_user_rng():
        raise Skip("this QEMU has no vhost-user-rng device")
    dev = VhostUserRng()
    r = Box(devices=[dev]).run(["sh", "-c", SCRIPT])
    diag = r.console + "\n--- vu-test-rng ---\n" + dev.log
    got = guest_bytes(r.output)
    t.eq(len(got), 256, "guest read 256 bytes in getrandom mode", diag)
    t.ok(len(set(got)) > 64, "and they look random (more than 64 distinct byte values)", got)
    t.eq(dev.returncode, 0, "back-end exits cleanly", diag)


if __name__ == "__main__":
    main([test_pattern_reaches_guest, test_random_mode])
