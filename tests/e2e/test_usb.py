#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""USB passthrough on engine qemu, with lbx-usbipd's simulated devices:
the agent imports what lbx-usbipd serves on a vsock port into vhci-hcd,
the guest's cdc-acm driver makes /dev/ttyACM0, bytes written come back,
a baud change reaches the device, a device no rule names is refused,
detach removes it, and a re-enumeration is re-attached. The vendor-bulk
device is driven from the guest with libusb (lsusb, usb-bulk-echo)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import (Box, Skip, VhostUserVsock, approve_first, binaries_overlay,  # noqa: E402
                     build_dir, kernel_dir, main, qemu_binary, stop_process, wait_for_path)
from testlib import lbx_env  # noqa: E402

ACM_PORT = 1100
BULK_PORT = 1101
USBIPD = os.path.join(build_dir(), "passthrough", "lbx-usbipd")
ECHO = os.path.join(build_dir(), "passthrough", "usb-bulk-echo")
GUEST_ECHO = "/usr/local/bin/usb-bulk-echo"  # the build tree may be under the guest's /tmp


class Usbipd:
    def __init__(self, tmp, name, kind, rules, listen, extra=()):
        self.rules = os.path.join(tmp, name + ".rules.json")
        with open(self.rules, "w") as f:
            json.dump(rules, f)
        self.log_path = os.path.join(tmp, name + ".log")
        self.audit = os.path.join(tmp, name + ".audit")
        self.log = open(self.log_path, "w")
        self.listen = listen
        what = ["--sim", kind] if kind else list(extra)
        self.proc = subprocess.Popen([USBIPD, "--listen", listen] + what + ["--rules",
                                      self.rules, "--box", "usb-e2e", "--audit-log", self.audit],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def events(self):
        try:
            with open(self.audit) as f:
                return [json.loads(line)["event"] for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc = None
        self.log.close()


def sh(rb, vs, script, timeout=120):
    r = rb.lbx(["exec", "--vsock-uds", vs.uds, "--", "sh", "-c", script], timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


WAIT_ACM = "for i in $(seq 100); do [ -e /dev/ttyACM0 ] && break; sleep 0.1; done; "
WAIT_NO_ACM = "for i in $(seq 100); do [ -e /dev/ttyACM0 ] || break; sleep 0.1; done; "
ECHO_TEST = ("stty -F /dev/ttyACM0 115200 raw -echo && "
             "{ timeout 5 cat /dev/ttyACM0 > /tmp/acm.out & sleep 1; "
             "printf lbx-loopback > /dev/ttyACM0; sleep 2; kill %1 2>/dev/null; wait; }; "
             "cat /tmp/acm.out")


def test_usb_passthrough(t):
    if not os.path.exists(USBIPD):
        raise Skip("lbx-usbipd is not built")
    programs = ["lsusb"] if shutil.which("lsusb") else []
    overlays = [binaries_overlay(programs + ([(ECHO, GUEST_ECHO)] if os.path.exists(ECHO) else []))] \
        if programs or os.path.exists(ECHO) else []
    tmp = tempfile.mkdtemp(prefix="lbx-usb-")
    vs = VhostUserVsock()
    box = Box(devices=[vs], overlays=overlays)
    servers = []
    try:
        with box.start(extra=[f"lbx.usb=vsock:{ACM_PORT}", f"lbx.usb=vsock:{BULK_PORT}"]) as rb:
            if not t.ok(rb.wait_ready(), "a box with two USB slots is up", rb.text()):
                return
            acm = Usbipd(tmp, "acm", "cdc-acm", [{"id": "1209:0001", "name": "sim-acm"}],
                         f"{vs.uds}_{ACM_PORT}")
            servers.append(acm)
            wait_for_path(acm.listen, acm.proc, "lbx-usbipd")
            rc, out = sh(rb, vs, WAIT_ACM + "ls -l /dev/ttyACM0")
            if not t.ok(rc == 0 and "/dev/ttyACM0" in out, "/dev/ttyACM0 appears in the guest",
                        out + rb.text()[-3000:] + acm.text()):
                return
            rc, out = sh(rb, vs, ECHO_TEST)
            t.ok("lbx-loopback" in out, "bytes written to /dev/ttyACM0 come back", out)
            t.ok("line coding 115200 8N1" in acm.text(), "the baud change reached the device",
                 acm.text())
            t.ok("DTR=1" in acm.text(), "and DTR, as the tty was opened", acm.text())
            t.eq(acm.events()[:1], ["attach"], "the attach is audited")

            # A device that no rule names: refused with the rule set named, never in the guest.
            bulk_refused = Usbipd(tmp, "refused", "vendor-bulk",
                                  [{"id": "1209:0001", "name": "sim-acm"}],
                                  f"{vs.uds}_{BULK_PORT}")
            servers.append(bulk_refused)
            rc = bulk_refused.proc.wait(timeout=10)
            text = bulk_refused.text()
            t.ok(rc == 2 and "1209:0002" in text and "matches no rule of devices.usb" in text
                 and "sim-acm" in text, "an unnamed device is refused, naming the rule set",
                 text)
            rc, out = sh(rb, vs, "sleep 1; cat /sys/bus/usb/devices/*/idVendor")
            t.ok(out.count("1209") == 1, "and the guest never sees it (only the ACM is there)",
                 out)

            # Re-enumeration: the device leaves and comes back with the same id and serial.
            os.kill(acm.proc.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 30
            while "reattach" not in acm.events() and time.monotonic() < deadline:
                time.sleep(0.2)
            t.ok("reenumerate" in acm.events() and "reattach" in acm.events(),
                 "a re-enumerated device is attached again", acm.events())
            rc, out = sh(rb, vs, WAIT_ACM + ECHO_TEST)
            t.ok("lbx-loopback" in out, "and works again", out + acm.text())

            # Detach: the server goes, the device leaves the guest.
            acm.stop()
            rc, out = sh(rb, vs, WAIT_NO_ACM + "ls /dev/ttyACM0 2>&1")
            t.ok("No such file" in out, "detach removes /dev/ttyACM0 from the guest", out)
            t.ok(acm.events()[-1:] == ["detach"], "the detach is audited", acm.events())

            # A host serial port that is not USB (a pty here), bridged as a CDC-ACM port.
            import termios
            master, slave = os.openpty()
            try:
                tty = Usbipd(tmp, "tty", None, [{"id": "1209:0003"}], f"{vs.uds}_{ACM_PORT}",
                             extra=["--tty", os.ttyname(slave)])
                servers.append(tty)
                wait_for_path(tty.listen, tty.proc, "lbx-usbipd")
                rc, out = sh(rb, vs, WAIT_ACM + "stty -F /dev/ttyACM0 57600 raw -echo && "
                             "printf bridged > /dev/ttyACM0 && echo sent")
                time.sleep(0.5)
                os.set_blocking(master, False)
                try:
                    got = os.read(master, 64)
                except BlockingIOError:
                    got = b""
                t.ok("sent" in out and got == b"bridged",
                     "a host tty that is not USB: guest writes reach it", (out, got))
                t.eq(termios.tcgetattr(slave)[5], termios.B57600,
                     "and the guest's baud rate is set on it")
                tty.stop()
            finally:
                os.close(master)
                os.close(slave)

            # The vendor-bulk device through libusb in the guest.
            bulk = Usbipd(tmp, "bulk", "vendor-bulk",
                          [{"id": "1209:0002", "interfaces": ["ff:*:*", "fe:01:*"]}],
                          f"{vs.uds}_{BULK_PORT}")
            servers.append(bulk)
            wait_for_path(bulk.listen, bulk.proc, "lbx-usbipd")
            wait = ("for i in $(seq 100); do grep -q 1209 /sys/bus/usb/devices/*/idVendor "
                    "2>/dev/null && break; sleep 0.1; done; ")
            if programs:
                rc, out = sh(rb, vs, wait + "lsusb")
                t.ok("1209:0002" in out, "lsusb in the guest lists the vendor-bulk device", out)
            else:
                t.skip("lsusb lists the device", "usbutils is not installed on the host")
            if os.path.exists(ECHO):
                rc, out = sh(rb, vs, wait + f"{GUEST_ECHO} 1209:0002 1000 512")
                t.ok(rc == 0 and "echoed 1000 x 512 bytes" in out,
                     "a libusb bulk echo client in the guest gets every byte back", out)
            else:
                t.skip("libusb bulk echo", "usb-bulk-echo is not built (libusb-1.0-0-dev)")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, True)


def test_box_user_owns_the_device(t):
    """The box user, not root, opens the port and the USB node, as probe-rs's
    udev rules would let a plugdev user."""
    tmp = tempfile.mkdtemp(prefix="lbx-usb-user-")
    vs = VhostUserVsock()
    box = Box(devices=[vs])
    acm = None
    try:
        with box.start(extra=[f"lbx.usb=vsock:{ACM_PORT}", "lbx.uid=1000", "lbx.gid=1000",
                              "lbx.user=dev", "lbx.home=/tmp"]) as rb:
            if not t.ok(rb.wait_ready(), "a box whose user is uid 1000", rb.text()):
                return
            acm = Usbipd(tmp, "acm", "cdc-acm", [{"id": "1209:0001"}], f"{vs.uds}_{ACM_PORT}")
            wait_for_path(acm.listen, acm.proc, "lbx-usbipd")
            rc, out = sh(rb, vs, WAIT_ACM + "sleep 1; id -u; ls -ln /dev/ttyACM0 /dev/bus/usb/*/*")
            lines = out.splitlines()
            t.ok(lines[:1] == ["1000"] and any("1000     1000" in ln and "ttyACM0" in ln
                                              for ln in lines),
                 "the box user owns /dev/ttyACM0", out)
            t.ok(any(ln.startswith("crw-rw----") and "1000" in ln and ln.endswith("/001/002")
                     for ln in lines) and
                 any(ln.startswith("crw-------") and ln.endswith("/001/001") for ln in lines),
                 "and the device's USB node, not the root hub's", out)
            rc, out = sh(rb, vs, ECHO_TEST)
            t.ok("lbx-loopback" in out, "and uses the port without root", out)
    finally:
        if acm:
            acm.stop()
        shutil.rmtree(tmp, True)


def test_lbx_up_and_device_cli(t):
    """The real CLI: `lbx up` attaches what the box's rules name, `lbx device`
    lists, refuses, detaches and attaches again."""
    qemu_binary()
    tmp = tempfile.mkdtemp(prefix="lbx-usb-cli-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    env["LBX_USB_SIM"] = "cdc-acm,vendor-bulk"  # the test flag: simulated host devices
    project = os.path.join(tmp, "proj")
    os.makedirs(project)
    with open(os.path.join(project, "lbx.json"), "w") as f:
        json.dump({"image": "busybox",
                   "devices": {"usb": [{"id": "1209:0001", "name": "sim-acm"}]}}, f)
    exe = os.path.join(build_dir(), "lbx", "lbx")

    def lbx(*args, timeout=300):
        return approve_first(lambda *a: subprocess.run(
            [exe] + list(a), cwd=project, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout), args)

    def box_sh(script):
        r = lbx("exec", "proj", "--", "sh", "-c", script, timeout=120)
        return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    try:
        r = lbx("up", "--engine", "qemu")
        if not t.ok(r.returncode == 0, "lbx up of a box with a devices.usb rule",
                    r.stderr.decode(errors="replace")):
            return
        out = box_sh(WAIT_ACM + "ls /dev/ttyACM0")
        t.ok("/dev/ttyACM0" in out, "lbx up attached the device the rule names", out)
        r = lbx("device", "ls", "proj", "--json")
        try:
            devs = {d["name"]: d for d in json.loads(r.stdout)["devices"]}
        except ValueError:
            devs = {}
        t.ok(devs.get("sim:cdc-acm", {}).get("boxes", {}).get("proj") == "sim-acm" and
             "proj" in devs.get("sim:vendor-bulk", {}).get("boxes", {}) and
             devs["sim:vendor-bulk"]["boxes"]["proj"] is None,
             "lbx device ls --json: the rule each device matches for the box", r.stdout)
        r = lbx("device", "attach", "proj", "sim:vendor-bulk")
        err = r.stderr.decode(errors="replace")
        t.ok(r.returncode == 1 and "matches no rule of devices.usb" in err and "sim-acm" in err,
             "attaching a device no rule names is refused, naming the rule set", err)
        r = lbx("device", "detach", "proj", "sim:cdc-acm")
        t.eq(r.returncode, 0, "lbx device detach", r.stderr)
        out = box_sh(WAIT_NO_ACM + "ls /dev/ttyACM0 2>&1")
        t.ok("No such file" in out, "detach removes the device from the box", out)
        r = lbx("device", "attach", "proj", "sim:cdc-acm")
        t.eq(r.returncode, 0, "lbx device attach", r.stderr)
        out = box_sh(WAIT_ACM + ECHO_TEST)
        t.ok("lbx-loopback" in out, "attached again, it echoes", out)
        audit = os.path.join(tmp, "data", "lbx", "boxes", "proj", "usb-audit.log")
        try:
            with open(audit) as f:
                ev = [json.loads(line)["event"] for line in f if line.strip()]
        except (OSError, ValueError):
            ev = []
        t.ok("attach" in ev and "detach" in ev and ev.count("attach") + ev.count("reattach") >= 2,
             "the box's USB audit log has the attaches and the detach", ev)
        r = lbx("down", "proj", timeout=120)
        time.sleep(2)
        left = [line for line in subprocess.run(["ps", "-eo", "pid,args"], stdout=subprocess.PIPE,
                                                text=True).stdout.splitlines()
                if "lbx-usbipd" in line and tmp in line]
        t.eq(left, [], "lbx down leaves no lbx-usbipd behind")
    finally:
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_usb_passthrough, test_box_user_owns_the_device, test_lbx_up_and_device_cli])
