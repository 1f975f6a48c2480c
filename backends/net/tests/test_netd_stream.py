#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-netd --stream, the real binary: a peer on its unix socket speaks
Ethernet frames behind 4-byte big-endian lengths, as lbx-agent's tap relay
does in a container.

    test_netd_stream.py PATH/TO/lbx-netd

Prints TAP. Needs no network beyond slirp's own (ARP for its gateway is
answered inside slirp), no root. Timeouts only keep a broken daemon from
hanging the test; nothing is timed.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

NETD = os.path.abspath(sys.argv[1])
GUEST_MAC = bytes.fromhex("525400123456")
GUEST_IP = socket.inet_aton("10.0.2.15")
GATEWAY_IP = socket.inet_aton("10.0.2.2")
TIMEOUT = 20.0  # seconds before a wait counts as a failure, never a measurement
FRAME_MAX = 1518  # NETD_FRAME_MAX


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../..", "tests"))
from testlib import Tap, unix_json  # noqa: E402

t = Tap()


# ---- frames ----

def framed(frame):
    return struct.pack(">I", len(frame)) + frame


def arp_request():
    """who-has 10.0.2.2 tell 10.0.2.15 (RFC 826), as a tap would hand it over."""
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + GUEST_MAC + GUEST_IP + bytes(6) + GATEWAY_IP
    return b"\xff" * 6 + GUEST_MAC + struct.pack(">H", 0x0806) + arp


def is_arp_reply_from_gateway(frame):
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return False
    op = struct.unpack(">H", frame[20:22])[0]
    return op == 2 and frame[28:32] == GATEWAY_IP and frame[38:42] == GUEST_IP


def ip_checksum(hdr):
    s = sum(struct.unpack(">%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(dst_ip, dport, payload=b"lbx"):
    udp = struct.pack(">HHHH", 40000, dport, 8 + len(payload), 0) + payload  # no UDP checksum
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, GUEST_IP,
                     socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack(">H", ip_checksum(ip)) + ip[12:]
    gw_mac = bytes.fromhex("5255 0a00 0202".replace(" ", ""))
    return gw_mac + GUEST_MAC + struct.pack(">H", 0x0800) + ip + udp


# ---- the peer ----

class Peer:
    """One connection to --stream, reading frames as they come."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def recv_frame(self, deadline):
        """The next frame, or None at EOF or once the deadline passed."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            try:
                data = self.s.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                return None
            self.buf += data

    def wait_for(self, match):
        """Read frames until one matches; (frame or None, frames seen)."""
        deadline = time.monotonic() + TIMEOUT
        seen = 0
        while True:
            f = self.recv_frame(deadline)
            if f is None:
                return None, seen
            seen += 1
            if match(f):
                return f, seen

    def closed_by_netd(self):
        """True once netd closed the connection (frames before the EOF are skipped)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.s], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                return False
            try:
                if not self.s.recv(65536):
                    return True
            except ConnectionResetError:
                return True
        return False

    def close(self):
        self.s.close()


def arp_works(peer, what):
    peer.send(framed(arp_request()))
    reply, seen = peer.wait_for(is_arp_reply_from_gateway)
    t.ok(reply is not None, what, "no ARP reply from 10.0.2.2 among %d frame(s)" % seen)
    return reply


# ---- the daemon ----

def status(control):
    return unix_json(control, TIMEOUT)


def wait_status(control, cond):
    """Ask the control socket until cond(doc) holds; the last document either way."""
    deadline = time.monotonic() + TIMEOUT
    doc = status(control)
    while not cond(doc) and time.monotonic() < deadline:
        time.sleep(0.02)
        doc = status(control)
    return doc


def wait_path(path, proc):
    deadline = time.monotonic() + TIMEOUT
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def counter(doc, *keys):
    v = doc
    for k in keys:
        v = v[k]
    return v


def slow_reader(peer, control):
    """A peer that stops reading: netd queues at most NETD_RXQ_MAX_BYTES for it,
    drops whole frames past that, and what arrives later is still in step."""
    n = 120000  # replies: 120000 * 68 bytes, well over 4 MiB and the socket's buffers
    before = status(control)["counters"]
    peer.send(framed(arp_request()) * n)
    doc = wait_status(control, lambda j: counter(j, "counters", "frames_from_guest") >=
                      before["frames_from_guest"] + n)
    c = doc["counters"]
    queued = c["frames_to_guest"] - before["frames_to_guest"]
    dropped = c["frames_to_guest_dropped"] - before["frames_to_guest_dropped"]
    t.ok(dropped > 0 and queued + dropped == n,
         "a peer that does not read: replies past the bound are dropped and counted",
         "queued %d, dropped %d, of %d" % (queued, dropped, n))
    t.ok(0 < doc["stream"]["queued_bytes"] <= 4 << 20,
         "at most NETD_RXQ_MAX_BYTES wait for it", json.dumps(doc["stream"]))
    got = ipv6 = bad = 0
    deadline = time.monotonic() + TIMEOUT
    while got + ipv6 + bad < queued:
        f = peer.recv_frame(deadline)
        if f is None:
            break
        if is_arp_reply_from_gateway(f):
            got += 1
        elif f[12:14] == b"\x86\xdd":  # slirp's IPv6 router advertisements may come too
            ipv6 += 1
        else:
            bad += 1
    t.ok(got + ipv6 == queued and got > 0 and bad == 0,
         "once it reads: every queued reply, whole and in step",
         "got %d ARP replies and %d IPv6 frames of %d, %d others" % (got, ipv6, queued, bad))
    doc = wait_status(control, lambda j: j["stream"]["queued_bytes"] == 0)
    t.ok(doc["stream"]["queued_bytes"] == 0, "and the queue is empty", json.dumps(doc["stream"]))
    arp_works(peer, "the peer is served as before")


def scenario(proc, stream, control):
    doc = status(control)
    t.ok(doc.get("transport") == "stream" and doc.get("guest_connected") is False and
         doc["stream"]["peer_connected"] is False,
         "control: transport stream, no peer yet", json.dumps(doc)[:400])

    p1 = Peer(stream)
    arp_works(p1, "(a) a framed ARP who-has 10.0.2.2 is answered by slirp, framed")
    doc = wait_status(control, lambda j: j["stream"]["peer_connected"])
    t.ok(doc["guest_connected"] and doc["stream"]["peer_connected"] and
         counter(doc, "counters", "frames_from_guest") >= 1 and
         counter(doc, "counters", "frames_to_guest") >= 1,
         "control: the peer is connected, frames counted both ways", json.dumps(doc)[:600])

    before = counter(doc, "counters", "frames_denied")
    p1.send(framed(udp_frame("192.168.1.1", 9)))
    doc = wait_status(control, lambda j: counter(j, "counters", "frames_denied") > before)
    t.ok(counter(doc, "counters", "frames_denied") == before + 1,
         "(b) UDP to 192.168.1.1:9 (RFC 1918) is denied and counted",
         json.dumps(doc["counters"]))
    t.ok(any(e.get("address") == "192.168.1.1" and e.get("denied", 0) >= 1
             for e in doc["destinations"]),
         "and listed among the destinations", json.dumps(doc["destinations"]))

    p2 = Peer(stream)
    t.ok(p2.closed_by_netd(), "(c) a second connection while one is active is closed")
    p2.close()
    arp_works(p1, "(c) the first connection still works")
    doc = status(control)
    t.ok(doc["stream"]["peers_refused"] == 1 and doc["stream"]["peer_connected"],
         "control: one connection refused, the first still connected", json.dumps(doc["stream"]))

    # A frame split over many writes: the deframer keeps partial frames between reads.
    whole = framed(arp_request())
    for i in range(len(whole)):
        p1.send(whole[i:i + 1])
    reply, _ = p1.wait_for(is_arp_reply_from_gateway)
    t.ok(reply is not None, "a frame sent a byte at a time is reassembled")

    slow_reader(p1, control)

    bad_before = counter(status(control), "counters", "malformed", "size")
    p1.send(struct.pack(">I", 0))
    t.ok(p1.closed_by_netd(), "(d) a frame length of 0 closes the connection")
    p1.close()
    t.ok(proc.poll() is None, "the daemon keeps running")
    doc = wait_status(control, lambda j: not j["stream"]["peer_connected"])
    t.ok(counter(doc, "counters", "malformed", "size") == bad_before + 1 and
         not doc["stream"]["peer_connected"],
         "counted as malformed (size), no peer connected", json.dumps(doc["counters"]))

    p3 = Peer(stream)
    arp_works(p3, "(d) a new connection works after that")
    p3.send(struct.pack(">I", FRAME_MAX + 1))
    t.ok(p3.closed_by_netd(), "a length of NETD_FRAME_MAX + 1 closes it too")
    p3.close()

    p4 = Peer(stream)
    p4.send(framed(b"\x01" * 10))  # in step, but shorter than an Ethernet header
    arp_works(p4, "a frame too short for Ethernet is dropped, the connection stays")
    p4.close()
    doc = wait_status(control, lambda j: not j["stream"]["peer_connected"])
    t.ok(doc["stream"]["peers"] == 3 and not doc["stream"]["peer_connected"],
         "control: three peers served, none left", json.dumps(doc["stream"]))


def main():
    with tempfile.TemporaryDirectory(prefix="lbx-netd-stream-") as d:
        policy = os.path.join(d, "policy.json")
        stream = os.path.join(d, "net.sock")
        control = os.path.join(d, "control.sock")
        logpath = os.path.join(d, "netd.log")
        with open(policy, "w") as f:
            json.dump({"mode": "nat"}, f)

        with open(logpath, "w") as log:
            r = subprocess.run([NETD, "--socket", stream, "--stream", stream, "--policy", policy],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               timeout=TIMEOUT)
            t.ok(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
                 "--socket with --stream: one line, exit 2", r.stderr)

            env = dict(os.environ, LBX_LOG="info")
            # In a sanitizer build, LeakSanitizer's check at exit starts a tracer
            # thread, which netd's seccomp filter rightly forbids: no leak check.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "detect_leaks=0"]))
            proc = subprocess.Popen([NETD, "--stream", stream, "--policy", policy,
                                     "--control", control],
                                    stdout=log, stderr=log, env=env)
            try:
                up = wait_path(stream, proc) and wait_path(control, proc)
                if t.ok(up, "lbx-netd --stream listens"):
                    t.ok(os.stat(stream).st_mode & 0o077 == 0, "the stream socket is owner-only")
                    scenario(proc, stream, control)
            except Exception as e:  # a failure in the middle still reports and stops netd
                t.ok(False, "the scenario ran to its end", "%s: %s" % (type(e).__name__, e))
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    rc = proc.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
        with open(logpath) as f:
            text = f.read()
        t.ok(rc == 0, "SIGTERM: lbx-netd exits 0", "exit status %s\n%s" % (rc, text))
        t.ok(text.count("a stream peer is already connected") == 1,
             "the refused connection is one warning in the log", text)
        t.ok("frame length of 0" in text, "the bad length is logged", text)
    return t.result()


if __name__ == "__main__":
    sys.exit(main())
