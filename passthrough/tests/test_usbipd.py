#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-usbipd with its simulated devices, driven by a USB/IP client written
here from usbip_protocol.rst: the device list, the import, enumeration
requests, bulk echo, unlink ordering, the devid check, the rules (a
refused device, a DFU request without allow_dfu), re-enumeration, and the
audit lines."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import testlib  # noqa: E402

EXE = sys.argv[1]
VER = 0x0111
ECONNRESET = 104
EPIPE = 32


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        # The socket's file exists from bind(), a moment before listen().
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except ConnectionRefusedError:
                time.sleep(0.02)
        else:
            self.s.connect(path)
        self.seq = 0
        self.dirs = {}

    def recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("server closed the connection")
            b += c
        return b

    def devlist(self):
        self.s.sendall(struct.pack(">HHI", VER, 0x8005, 0))
        ver, code, st, n = struct.unpack(">HHII", self.recv(12))
        devs = []
        for _ in range(n):
            d = self.recv(0x138)
            vid, pid = struct.unpack(">HH", d[0x12c:0x130])
            nifs = d[0x137]
            self.recv(4 * nifs)
            devs.append((d[256:288].rstrip(b"\0").decode(), vid, pid))
        return devs

    def import_(self, busid="1-1"):
        self.s.sendall(struct.pack(">HHI32s", VER, 0x8003, 0, busid.encode()))
        ver, code, st = struct.unpack(">HHI", self.recv(8))
        if st != 0:
            return None
        d = self.recv(0x138)
        busnum, devnum, speed, vid, pid = struct.unpack(">IIIHH", d[0x120:0x130])
        self.devid = (busnum << 16) | devnum
        return (vid, pid, speed)

    def submit(self, ep, direction, length, setup=b"\0" * 8, data=b"", devid=None):
        self.seq += 1
        self.dirs[self.seq] = direction
        hdr = struct.pack(">IIIIIIIiIi8s", 1, self.seq, self.devid if devid is None else devid,
                          direction, ep, 0, length, 0, 0, 0, setup)
        self.s.sendall(hdr + data)
        return self.seq

    def unlink(self, seqnum):
        self.seq += 1
        self.s.sendall(struct.pack(">IIIIII24x", 2, self.seq, self.devid, 0, 0, seqnum))
        return self.seq

    def reply(self):
        h = self.recv(48)
        cmd, seq, devid, direction, ep, status, actual = struct.unpack(">IIIIIiI", h[:28])
        data = b""
        if cmd == 3 and self.dirs.get(seq) == 1 and actual:
            data = self.recv(actual)
        return cmd, seq, status, data

    def control(self, rtype, req, value, index, length, data=b""):
        setup = struct.pack("<BBHHH", rtype, req, value, index, length)
        direction = 1 if rtype & 0x80 else 0
        seq = self.submit(0, direction, length if direction else len(data), setup, data)
        r = self.reply()
        assert r[1] == seq, f"reply to {r[1]}, expected {seq}"
        return r


def start(tmp, kind, rules, name="srv"):
    sock = os.path.join(tmp, name + ".sock")
    audit = os.path.join(tmp, name + ".audit")
    rules_path = os.path.join(tmp, name + ".rules.json")
    with open(rules_path, "w") as f:
        json.dump(rules, f)
    log = open(os.path.join(tmp, name + ".log"), "w+")
    p = subprocess.Popen([EXE, "--listen", sock, "--sim", kind, "--rules", rules_path,
                          "--box", "usbtest", "--audit-log", audit],
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return p, sock, audit, log


def audit_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_acm(t, tmp):
    p, sock, audit, log = start(tmp, "cdc-acm", [{"id": "1209:0001", "name": "sim-acm"}])
    try:
        c = Client(sock)
        t.eq(c.devlist(), [("1-1", 0x1209, 0x0001)], "the device list names the device")
        c = Client(sock)
        t.eq(c.import_("2-7"), None, "importing a busid it does not export is refused")
        c = Client(sock)
        t.eq(c.import_(), (0x1209, 0x0001, 2), "import: 1209:0001 at full speed")
        cmd, seq, st, d = c.control(0x80, 6, 0x0100, 0, 18)
        t.ok(cmd == 3 and st == 0 and len(d) == 18 and d[1] == 1 and d[8:12] == b"\x09\x12\x01\x00",
             "GET_DESCRIPTOR(device) returns the device descriptor", repr(d))
        cmd, seq, st, d = c.control(0x80, 6, 0x0200, 0, 255)
        t.ok(st == 0 and len(d) == 67 and d[9 + 5] == 0x02, "the configuration: CDC-ACM", repr(d))
        cmd, seq, st, d = c.control(0x80, 6, 0x0303, 0x0409, 255)
        t.eq(d[2:].decode("utf-16-le"), "LBXSIM-ACM", "the serial number string")
        cmd, seq, st, d = c.control(0x80, 6, 0x0600, 0, 10)
        t.eq(st, -EPIPE, "a full-speed device stalls GET_DESCRIPTOR(device qualifier)")
        cmd, seq, st, d = c.control(0x21, 0x20, 0, 0, 7, struct.pack("<IBBB", 115200, 0, 2, 8))
        t.eq(st, 0, "SET_LINE_CODING 115200 8E1 is taken")
        cmd, seq, st, d = c.control(0xA1, 0x21, 0, 0, 7)
        t.eq(struct.unpack("<IBBB", d), (115200, 0, 2, 8), "GET_LINE_CODING gives it back")
        c.control(0x21, 0x22, 3, 0, 0)

        # Loopback: an IN waiting on the data endpoint completes when OUT data arrives.
        rd = c.submit(1, 1, 64)
        wr = c.submit(2, 0, 5, data=b"hello")
        got = [c.reply(), c.reply()]
        seqs = {r[1]: r for r in got}
        t.ok(wr in seqs and seqs[wr][2] == 0, "the OUT transfer completes")
        t.eq(seqs.get(rd, (0, 0, 0, b""))[3], b"hello", "the bytes come back on bulk IN")

        # Unlink of a waiting URB: RET_UNLINK -ECONNRESET, and no RET_SUBMIT for it.
        rd = c.submit(1, 1, 64)
        ul = c.unlink(rd)
        cmd, seq, st, d = c.reply()
        t.ok(cmd == 4 and seq == ul and st == -ECONNRESET,
             "unlinking a waiting URB: RET_UNLINK with -ECONNRESET", (cmd, seq, st))
        # Unlink after completion: the RET_SUBMIT comes first, then RET_UNLINK 0.
        cmd, seq, st, d = c.control(0x80, 6, 0x0100, 0, 18)
        ul = c.unlink(seq)
        cmd, seq2, st, d = c.reply()
        t.ok(cmd == 4 and seq2 == ul and st == 0,
             "unlinking an answered URB: RET_UNLINK with status 0", (cmd, seq2, st))
        wr = c.submit(2, 0, 3, data=b"abc")
        r = c.reply()
        t.ok(r[0] == 3 and r[1] == wr, "no RET_SUBMIT was sent for the unlinked URB", r)
        rd = c.submit(1, 1, 64)
        t.eq(c.reply()[3], b"abc", "the unlinked URB took none of the data")

        # Several URBs in flight, one unlinked in the middle: the others keep their order.
        r1, r2, r3 = c.submit(1, 1, 64), c.submit(1, 1, 64), c.submit(1, 1, 64)
        ul = c.unlink(r2)
        cmd, seq, st, d = c.reply()
        t.ok(cmd == 4 and seq == ul and st == -ECONNRESET, "the middle URB of three is unlinked")
        c.submit(2, 0, 3, data=b"one")
        c.submit(2, 0, 3, data=b"two")
        got = {}
        for _ in range(4):
            cmd, seq, st, d = c.reply()
            got[seq] = d
        t.ok(got.get(r1) == b"one" and got.get(r3) == b"two" and r2 not in got,
             "the first and third get the data in order, the unlinked one nothing", got)

        with open(os.path.join(tmp, "srv.log")) as f:
            text = f.read()
        t.ok("line coding 115200 8E1" in text, "the device saw the baud rate change", text)
        t.ok("DTR=1 RTS=1" in text, "and the control lines", text)

        # Re-enumeration: the connection drops, the device comes back and imports again.
        os.kill(p.pid, signal.SIGUSR1)
        try:
            c.recv(1)
            dropped = False
        except (EOFError, ConnectionResetError):
            dropped = True
        t.ok(dropped, "a re-enumerating device drops the guest's connection")
        back = None
        for _ in range(50):
            c = Client(sock)
            back = c.import_()
            if back:
                break
            time.sleep(0.1)
        t.eq(back, (0x1209, 0x0001, 2), "and can be imported again once it is back")

        # The devid must be the imported device's.
        c.submit(0, 1, 18, setup=struct.pack("<BBHHH", 0x80, 6, 0x100, 0, 18), devid=0x50005)
        try:
            c.recv(1)
            closed = False
        except (EOFError, ConnectionResetError):
            closed = True
        t.ok(closed, "a command naming another devid ends the connection")
        ev = [a["event"] for a in audit_lines(audit)]
        t.ok(ev[:1] == ["attach"] and "reenumerate" in ev and "reattach" in ev and "detach" in ev,
             "audit: attach, reenumerate, reattach, detach", ev)
        t.ok(all(a.get("box") == "usbtest" and a.get("device") == "1209:0001"
                 for a in audit_lines(audit)), "each audit line names the box and the device")
    finally:
        testlib.stop_process(p)
        log.close()


def test_bulk_and_policy(t, tmp):
    p, sock, audit, log = start(tmp, "vendor-bulk", [{"id": "1209:0001", "name": "only-acm"}],
                                "refused")
    rc = p.wait(timeout=10)
    log.seek(0)
    text = log.read()
    t.eq(rc, 2, "a device no rule names: lbx-usbipd exits with status 2")
    t.ok("1209:0002" in text and "matches no rule of devices.usb" in text and "only-acm" in text,
         "with a message naming the device and the rule set", text)
    t.eq([a["event"] for a in audit_lines(audit)], ["refuse"], "and an audit line for the refusal")
    log.close()

    for allow, name in ((False, "nodfu"), (True, "dfu")):
        rule = {"id": "1209:0002", "interfaces": ["ff:*:*", "fe:01:*"]}
        if allow:
            rule["allow_dfu"] = True
        p, sock, audit, log = start(tmp, "vendor-bulk", [rule], name)
        try:
            c = Client(sock)
            t.eq(c.import_(), (0x1209, 0x0002, 2), f"vendor-bulk imports ({name})")
            payload = bytes(range(256)) * 4
            wr = c.submit(1, 0, len(payload), data=payload)
            t.eq(c.reply()[1], wr, "a 1 KiB bulk OUT completes")
            rd = c.submit(1, 1, 4096)
            t.eq(c.reply()[3], payload, "and comes back on bulk IN")
            cmd, seq, st, d = c.control(0x21, 0, 1000, 1, 0)
            if allow:
                t.eq(st, 0, "DFU_DETACH passes with allow_dfu")
            else:
                t.eq(st, -EPIPE, "DFU_DETACH without allow_dfu is stalled")
                t.ok(any(a["event"] == "refuse" and "allow_dfu" in a.get("reason", "")
                         for a in audit_lines(audit)), "and audited")
        finally:
            testlib.stop_process(p)
            log.close()


def test_garbage(t, tmp):
    p, sock, audit, log = start(tmp, "cdc-acm", [{"id": "1209:*"}], "garbage")
    try:
        c = Client(sock)
        c.s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            closed = c.s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        t.ok(closed, "bytes that are not USB/IP end the connection")
        c = Client(sock)
        c.import_()
        c.s.sendall(struct.pack(">IIIIIIIiIi8s", 1, 1, c.devid, 0, 3, 0, 1, 0, 5, 0, b"\0" * 8))
        try:
            closed = c.s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        t.ok(closed, "an isochronous submit ends the connection")
        log.flush()
        with open(os.path.join(tmp, "garbage.log")) as f:
            t.ok("isochronous transfers" in f.read(), "with a message saying why")
        t.eq(p.poll(), None, "lbx-usbipd keeps serving")
    finally:
        testlib.stop_process(p)
        log.close()


def test_serial_bridge(t, tmp):
    """A host tty that is not USB (a pty here) as a CDC-ACM port: bytes both
    ways, the line coding set on the tty."""
    import termios
    master, slave = os.openpty()
    path = os.ttyname(slave)
    sock = os.path.join(tmp, "tty.sock")
    rules = os.path.join(tmp, "tty.rules.json")
    with open(rules, "w") as f:
        json.dump([{"id": "1209:0003", "serial": os.path.basename(path)}], f)
    log = open(os.path.join(tmp, "tty.log"), "w+")
    p = subprocess.Popen([EXE, "--listen", sock, "--tty", path, "--rules", rules,
                          "--box", "usbtest"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        c = Client(sock)
        t.eq(c.import_(), (0x1209, 0x0003, 2), "the tty is offered as 1209:0003, its name the serial")
        cmd, seq, st, d = c.control(0x21, 0x20, 0, 0, 7, struct.pack("<IBBB", 57600, 2, 1, 7))
        t.eq(st, 0, "SET_LINE_CODING 57600 7O2")
        attrs = termios.tcgetattr(slave)
        cflag = attrs[2]
        # A pty keeps CS8 and drops PARENB whatever it is told (drivers/tty/pty.c); a real
        # port keeps them. The rest reaches it.
        t.ok(attrs[5] == termios.B57600 and cflag & termios.PARODD and cflag & termios.CSTOPB,
             "reaches the host tty's termios: 57600 baud, odd parity, 2 stop bits", attrs)
        cmd, seq, st, d = c.control(0x21, 0x20, 0, 0, 7, struct.pack("<IBBB", 12345, 0, 0, 8))
        t.eq(st, -EPIPE, "a baud rate termios has no name for is refused (stall)")
        wr = c.submit(2, 0, 9, data=b"to-device")
        t.eq(c.reply()[1], wr, "bulk OUT completes")
        time.sleep(0.2)
        t.eq(os.read(master, 64), b"to-device", "and its bytes are written to the tty")
        rd = c.submit(1, 1, 64)
        os.write(master, b"from-device")
        t.eq(c.reply()[3], b"from-device", "what the tty reads comes back on bulk IN")
    finally:
        testlib.stop_process(p)
        log.close()
        os.close(master)
        os.close(slave)


def test_usbfs(t, tmp):
    """A real device through usbfs: only one the user lends the test, since
    lbx-usbipd claims it from its host drivers."""
    node = os.environ.get("LBX_TEST_USB_DEVICE")
    devs = [d for d in os.listdir("/sys/bus/usb/devices") if ":" not in d and
            not d.startswith("usb")] if os.path.isdir("/sys/bus/usb/devices") else []
    if not node:
        t.skip("a real USB device through usbfs",
               "no USB device on this host" if not devs else
               "set LBX_TEST_USB_DEVICE=/dev/bus/usb/BBB/DDD to lend one to the test")
        return
    sock = os.path.join(tmp, "usbfs.sock")
    rules = os.path.join(tmp, "usbfs.rules.json")
    with open(rules, "w") as f:
        f.write('[{"id": "*:*"}]')
    p = subprocess.Popen([EXE, "--listen", sock, "--device", node, "--rules", rules,
                          "--box", "usbtest"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        c = Client(sock)
        t.ok(len(c.devlist()) == 1, "the usbfs device is listed")
        c = Client(sock)
        t.ok(c.import_() is not None, "and imported")
        cmd, seq, st, d = c.control(0x80, 6, 0x0100, 0, 18)
        t.ok(st == 0 and len(d) == 18 and d[1] == 1, "GET_DESCRIPTOR(device) through usbfs")
    finally:
        testlib.stop_process(p)


def main():
    t = testlib.Tap()
    with tempfile.TemporaryDirectory(prefix="lbx-usbipd-") as tmp:
        for fn in (test_acm, test_bulk_and_policy, test_garbage, test_serial_bridge, test_usbfs):
            try:
                fn(t, tmp)
            except Exception:
                import traceback
                t.ok(False, fn.__name__ + " raised", traceback.format_exc())
    sys.exit(t.result())


if __name__ == "__main__":
    main()
