#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-netd end to end: a guest under QEMU TCG with -netdev vhost-user
served by lbx-netd, which runs in a network namespace of its own wired to
a second namespace playing "the internet":

    guest --virtio-net--> lbx-netd (ns "box-host": lo with a web server on
                                    127.0.0.1, veth 198.51.100.1/24)
                                 |
                              veth pair
                                 |
                          ns "internet": 198.51.100.7 and .8, a web server
                          on port 80 and a DNS server on port 53

198.51.100.0/24 (TEST-NET-2) is public as far as the policy knows. slirp
forwards the guest's DNS to the resolver in /etc/resolv.conf, so lbx-netd
runs in a mount namespace where that file names 198.51.100.7. The guest
is configured with busybox (ip, udhcpc, nc, nslookup) until the agent's
net.c is wired in. Needs root (namespaces, veth); skips otherwise.
"""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbxtest  # noqa: E402
from lbxtest import Box, Device, Skip, main, wait_for_path  # noqa: E402
from testlib import free_port, http_server, stop_process, unix_json  # noqa: E402

WEB_A, WEB_B = "198.51.100.7", "198.51.100.8"
NAMES = {"allowed.test": WEB_A, "other.test": WEB_B}


# ---- servers, run inside the namespaces by this same file (--serve) ----

def dns_answer(q):
    """A reply to one query: A records from NAMES, NXDOMAIN for the rest."""
    qid, flags = struct.unpack("!HH", q[:4])
    pos, labels = 12, []
    while q[pos]:
        labels.append(q[pos + 1:pos + 1 + q[pos]].decode())
        pos += 1 + q[pos]
    qtype, = struct.unpack("!H", q[pos + 1:pos + 3])
    question = q[12:pos + 5]
    name = ".".join(labels).lower()
    if name not in NAMES:
        return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    if qtype != 1:
        return struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 30, 4) + socket.inet_aton(NAMES[name])
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr


def serve_dns(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(2048)
        try:
            s.sendto(dns_answer(q), peer)
        except (IndexError, struct.error):
            pass


def serve_http(addr, port):
    http_server(addr, port)
    while True:
        time.sleep(3600)


def serve(argv):
    threads = []
    for spec in argv:
        kind, addr, port = spec.split(":")
        fn = serve_dns if kind == "dns" else serve_http
        args = (addr,) if kind == "dns" else (addr, int(port))
        threads.append(threading.Thread(target=fn, args=args, daemon=True))
    for th in threads:
        th.start()
    print("serving", flush=True)
    while True:
        time.sleep(3600)


# ---- the two namespaces ----

def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kw)


class Topology:
    """Namespaces "box-host" (lbx-netd) and "internet", joined by a veth pair."""

    def __init__(self):
        if os.geteuid() != 0:
            raise Skip("needs root for network namespaces")
        for tool in ("unshare", "nsenter", "ip"):
            if not shutil.which(tool):
                raise Skip(f"{tool} is not installed")
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="lbx-net-topo-")
        self.host = self._holder(["--net", "--mount", "--propagation", "private"])
        self.net = self._holder(["--net"])
        suffix = str(os.getpid() % 100000)
        va, vb = "lbxa" + suffix, "lbxb" + suffix
        p = run(["ip", "link", "add", va, "type", "veth", "peer", "name", vb])
        if p.returncode != 0:
            self.close()
            raise Skip("cannot create a veth pair: " + p.stdout.strip())
        for cmd in (["ip", "link", "set", va, "netns", str(self.host.pid)],
                    ["ip", "link", "set", vb, "netns", str(self.net.pid)]):
            self.must(cmd)
        self.must(self.nsenter(self.host, "ip link set lo up && ip link set %s up && "
                               "ip addr add 198.51.100.1/24 dev %s" % (va, va)))
        self.must(self.nsenter(self.net, "ip link set lo up && ip link set %s up && "
                               "ip addr add %s/24 dev %s && ip addr add %s/24 dev %s"
                               % (vb, WEB_A, vb, WEB_B, vb)))
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write(f"nameserver {WEB_A}\n")
        self.spawn(self.net, [f"dns:{WEB_A}:53", f"http:{WEB_A}:80", f"http:{WEB_B}:80"])
        self.host_port = free_port()
        self.spawn(self.host, [f"http:127.0.0.1:{self.host_port}"])

    def _holder(self, flags):
        p = subprocess.Popen(["unshare"] + flags + ["sleep", "infinity"])
        self.procs.append(p)
        time.sleep(0.2)
        return p

    @staticmethod
    def nsenter(holder, script, mount=False):
        return (["nsenter", "-t", str(holder.pid), "-n"] + (["-m"] if mount else [])
                + ["sh", "-c", script])

    def must(self, cmd):
        p = run(cmd)
        if p.returncode != 0:
            self.close()
            raise RuntimeError(f"{cmd}: {p.stdout}")

    def spawn(self, holder, specs):
        cmd = ["nsenter", "-t", str(holder.pid), "-n", sys.executable,
               os.path.abspath(__file__), "--serve"] + specs
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != "serving":
            raise RuntimeError("test servers did not start: " + p.stdout.read())

    def close(self):
        for p in reversed(self.procs):
            p.kill()
            p.wait()
        self.procs = []
        shutil.rmtree(self.tmp, True)


class Netd(Device):
    """lbx-netd with a policy, in the topology's box-host namespace (or, with
    topo None, in ours). Before it stops, the control socket's document is
    kept in .status."""

    def __init__(self, policy, topo=None):
        self.policy = policy
        self.topo = topo
        self.proc = None
        self.status = None
        self.log_text = ""

    def start(self, workdir):
        self.vu = os.path.join(workdir, "net-vu.sock")
        self.control = os.path.join(workdir, "net-control.sock")
        policy = os.path.join(workdir, "network.json")
        with open(policy, "w") as f:
            json.dump(self.policy, f)
        self.logf = os.path.join(workdir, "netd.log")
        self.log = open(self.logf, "w")
        exe = os.path.join(lbxtest.build_dir(), "backends", "net", "lbx-netd")
        args = [exe, "--socket", self.vu, "--policy", policy, "--control", self.control]
        if self.topo:
            script = ('mount --bind "$0" /etc/resolv.conf && exec "$@"')
            args = (["nsenter", "-t", str(self.topo.host.pid), "-n", "-m", "sh", "-c", script,
                     self.topo.resolv] + args)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_path(self.vu, self.proc, "lbx-netd")

    def qemu_args(self):
        return ["-chardev", f"socket,id=netc,path={self.vu}",
                "-netdev", "vhost-user,id=n0,chardev=netc",
                "-device", "virtio-net-device,netdev=n0,mac=52:54:00:12:34:56"]

    def query(self):
        return unix_json(self.control)

    def stop(self):
        if not self.proc:
            return
        try:
            self.status = self.query()
        except (OSError, ValueError):
            self.status = None
        self.exit_code = self.proc.poll()
        stop_process(self.proc)
        self.log.close()
        with open(self.logf) as f:
            self.log_text = f.read()
        self.proc = None


# ---- the guest's side ----

SETUP = ("ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; "
         "ip route add default via 10.0.2.2; ")


def probe(name, cmd):
    """Run cmd in the guest; its status and output come back on one line."""
    return (f"{cmd} >/tmp/o 2>&1; echo \"@@{name} rc=$? $(tr '\\n' ' ' </tmp/o)\"; ")


def http_get(name, addr, port):
    return probe(name, f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 {addr} {port}")


def results(r):
    return {m.group(1): (int(m.group(2)), m.group(3))
            for m in re.finditer(r"^@@(\S+) rc=(\d+) ?(.*)$", r.console, re.M)}


def boot(devices, script, timeout=240):
    return Box(devices=devices, memory_mib=256).run(["sh", "-c", script], timeout=timeout)


def check_ok(t, res, name, want, desc, diag):
    rc, out = res.get(name, (None, ""))
    t.ok(rc == 0 and want in out, desc, f"{name}: rc {rc}, output {out!r}\n{diag}")


def check_refused(t, res, name, desc, diag):
    rc, out = res.get(name, (None, ""))
    t.ok(rc not in (0, None) and "refused" in out, desc, f"{name}: rc {rc}, {out!r}\n{diag}")


def dest(status, addr, port):
    for d in (status or {}).get("destinations", []):
        if d.get("address") == addr and d.get("port") == port:
            return d
    return None


# ---- tests ----

def test_nat(t):
    topo = Topology()
    try:
        nd = Netd({"mode": "nat"}, topo)
        hp = topo.host_port
        script = ("ip link set eth0 up; "
                  + probe("dhcp", "udhcpc -i eth0 -n -q -t 5 -s /bin/true")
                  + SETUP
                  + http_get("web", WEB_A, 80)
                  + http_get("host", "10.0.2.2", hp)
                  + http_get("metadata", "169.254.169.254", 80)
                  + http_get("rfc1918", "192.168.1.1", 80)
                  + http_get("cgnat", "100.64.0.1", 80)
                  + probe("dns", "nslookup allowed.test 10.0.2.3"))
        r = boot([nd], script)
        res, diag = results(r), r.console[-3000:] + "\n" + nd.log_text[-2000:]
        check_ok(t, res, "dhcp", "10.0.2.15", "slirp's DHCP leases 10.0.2.15", diag)
        check_ok(t, res, "web", f"hello from {WEB_A}", "nat: the guest fetches a page from the "
                 "internet", diag)
        check_refused(t, res, "host", "nat: the host's loopback (10.0.2.2) is refused without a "
                      "host rule", diag)
        check_refused(t, res, "metadata", "nat: 169.254.169.254 is refused", diag)
        check_refused(t, res, "rfc1918", "nat: 192.168.1.1 (RFC 1918) is refused", diag)
        check_refused(t, res, "cgnat", "nat: 100.64.0.1 (CGNAT) is refused", diag)
        check_ok(t, res, "dns", WEB_A, "a name resolves through slirp's DNS", diag)
        st = nd.status
        t.ok(st is not None and st["mode"] == "nat", "the control socket answers JSON", nd.log_text)
        d = dest(st, "169.254.169.254", 80)
        t.ok(d is not None and d["denied"] >= 1 and d["allowed"] == 0 and
             d["reason"] == "denied-range", "the metadata address is counted as denied", st)
        d = dest(st, WEB_A, 80)
        t.ok(d is not None and d["allowed"] >= 1, "the web server is counted as allowed", st)
        d = dest(st, "10.0.2.2", hp)
        t.ok(d is not None and d["reason"] == "host", "the host's port is counted as denied "
             "(reason host)", st)
        t.ok(st is not None and st["counters"]["frames_malformed"] == 0 and
             st["counters"]["resets_sent"] >= 4, "resets went out, nothing malformed", st)
    finally:
        topo.close()


def test_host_and_forward(t):
    topo = Topology()
    try:
        hp = topo.host_port
        fwd = free_port()
        nd = Netd({"mode": "nat", "host": [f"tcp:{hp}"],
                   "forward": [f"127.0.0.1:{fwd}:8080"]}, topo)
        got = {}

        def connect_in():
            # slirp accepts on the host at once and connects into the guest
            # when data flows; retry until the guest's nc -l answers.
            deadline = time.monotonic() + 200
            while time.monotonic() < deadline and "data" not in got:
                p = run(Topology.nsenter(topo.host, f"exec {sys.executable} -c \"import socket;"
                        f"s=socket.create_connection(('127.0.0.1',{fwd}),5);s.settimeout(5);"
                        f"print(s.recv(100).decode())\""))
                if "forwarded-hello" in p.stdout:
                    got["data"] = p.stdout
                time.sleep(0.5)

        script = (SETUP
                  + http_get("host", "10.0.2.2", hp)
                  + http_get("host-other", "10.0.2.2", hp + 1 if hp < 65535 else hp - 1)
                  + "echo forwarded-hello >/tmp/msg; nc -l -p 8080 </tmp/msg & NC=$!; "
                  + "i=0; while kill -0 $NC 2>/dev/null && [ $i -lt 300 ]; do sleep 0.5; "
                  + "i=$((i+1)); done; echo \"@@fwd-done rc=0 $i\"; ")
        th = threading.Thread(target=connect_in, daemon=True)
        th.start()
        r = boot([nd], script)
        got.setdefault("data", "")
        th.join(timeout=5)
        res, diag = results(r), r.console[-3000:] + "\n" + nd.log_text[-2000:]
        check_ok(t, res, "host", "hello from 127.0.0.1", "a host rule lets the guest reach the "
                 "host's loopback port", diag)
        check_refused(t, res, "host-other", "but no other port of the host", diag)
        t.ok("forwarded-hello" in got["data"], "port forwarding reaches nc -l in the guest",
             diag)
        d = dest(nd.status, "10.0.2.2", hp)
        t.ok(d is not None and d["allowed"] >= 1 and d["reason"] == "host-service",
             "the host service is counted as allowed", nd.status)
    finally:
        topo.close()


def test_allowlist(t):
    topo = Topology()
    try:
        nd = Netd({"mode": "allowlist", "allow": ["allowed.test:80"]}, topo)
        lookup = "nslookup {0} 10.0.2.3 | sed -n 's/^Address: *//p' | grep -v :53 | tail -1"
        script = (SETUP
                  + probe("resolve-allowed", lookup.format("allowed.test"))
                  + "A=$(" + lookup.format("allowed.test") + "); "
                  + http_get("allowed", "$A", 80)
                  + http_get("allowed-port", "$A", 8080)
                  + probe("resolve-other", "nslookup other.test 10.0.2.3")
                  + http_get("raw-ip", WEB_B, 80))
        r = boot([nd], script)
        res, diag = results(r), r.console[-3000:] + "\n" + nd.log_text[-2000:]
        check_ok(t, res, "resolve-allowed", WEB_A, "allowlist: the allowed name resolves", diag)
        check_ok(t, res, "allowed", f"hello from {WEB_A}", "and connects on its port", diag)
        check_refused(t, res, "allowed-port", "but not on another port", diag)
        rc, out = res.get("resolve-other", (None, ""))
        t.ok(rc not in (0, None) and WEB_B not in out and "NXDOMAIN" in out,
             "another name does not resolve (NXDOMAIN from lbx-netd)", f"{rc} {out}\n{diag}")
        check_refused(t, res, "raw-ip", "a raw IP address is refused", diag)
        st = nd.status or {}
        t.ok(st.get("counters", {}).get("dns_refused", 0) >= 1, "the refused query is counted",
             st)
        d = dest(st, WEB_A, 80)
        t.ok(d is not None and d.get("name") == "allowed.test" and d["reason"] == "name",
             "the destination is shown by the name that allowed it", st)
    finally:
        topo.close()


def test_policy_errors(t):
    exe = os.path.join(lbxtest.build_dir(), "backends", "net", "lbx-netd")
    with tempfile.TemporaryDirectory(prefix="lbx-net-") as d:
        pol = os.path.join(d, "net.json")
        with open(pol, "w") as f:
            f.write('{"mode": "nat", "allow": ["github.com"], "proxy": true}')
        p = run([exe, "--socket", os.path.join(d, "vu.sock"), "--policy", pol], timeout=30)
        t.ok(p.returncode == 1 and "net.json: network.proxy: unknown key" in p.stdout,
             "an unknown key is refused, naming file and key", p.stdout)
        with open(pol, "w") as f:
            f.write('{"mode": "none"}')
        p = run([exe, "--socket", os.path.join(d, "vu.sock"), "--policy", pol], timeout=30)
        t.ok(p.returncode == 1 and '"none"' in p.stdout and "no network device" in p.stdout,
             "mode none: lbx-netd refuses to start and says why", p.stdout)


def test_mode_none_has_no_eth0(t):
    # Mode none means the supervisor adds no NIC: the guest has no eth0.
    r = boot([], probe("eth0", "ip link show eth0"), timeout=180)
    rc, out = results(r).get("eth0", (None, ""))
    t.ok(rc not in (0, None), "without lbx-netd the guest has no eth0", r.console[-1500:])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2:])
    main([test_policy_errors, test_nat, test_host_and_forward, test_allowlist,
          test_mode_none_has_no_eth0])
