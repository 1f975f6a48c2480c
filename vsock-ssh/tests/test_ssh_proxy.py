#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-ssh-proxy against real OpenSSH: ssh-agent, ssh-add, ssh-keygen -Y,
ssh and sshd, all started here in a temporary directory.

    test_ssh_proxy.py PATH/TO/lbx-ssh-proxy

Prints TAP. Every check runs the real tools through the proxy; the agent
is never mocked.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

PROXY = os.path.abspath(sys.argv[1])
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..", "tests"))
from testlib import Tap, free_port, stop_process  # noqa: E402

t = Tap()
LIVE = []  # every process started, stopped at the end whatever happens
UNCLEAN = []  # proxies that did not exit cleanly
STOPPED = []


def run(cmd, env=None, input=None, timeout=30):
    e = dict(os.environ)
    e.pop("SSH_AUTH_SOCK", None)
    e.update(env or {})
    return subprocess.run(cmd, env=e, input=input, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(path, proc, what):
    for _ in range(500):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError("%s exited early: %s" % (what, proc.stderr.read()))
        time.sleep(0.01)
    raise RuntimeError("%s did not create %s" % (what, path))


class Agent:
    """A real ssh-agent in the foreground (-D), holding keys."""

    def __init__(self, d):
        os.makedirs(d, exist_ok=True)
        self.sock = os.path.join(d, "agent.sock")
        self.proc = subprocess.Popen(["ssh-agent", "-D", "-a", self.sock],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        LIVE.append(self.proc)
        wait_for(self.sock, self.proc, "ssh-agent")

    def add(self, key):
        r = run(["ssh-add", "-q", key], env={"SSH_AUTH_SOCK": self.sock})
        if r.returncode:
            raise RuntimeError("ssh-add %s: %s" % (key, r.stderr))

    def count(self):
        r = run(["ssh-add", "-l"], env={"SSH_AUTH_SOCK": self.sock})
        return len(r.stdout.splitlines()) if r.returncode == 0 else -1

    def stop(self):
        stop_process(self.proc)


class Proxy:
    def __init__(self, d, name, policy, upstream, extra=()):
        self.dir = d
        self.sock = os.path.join(d, name + ".sock")
        self.audit = os.path.join(d, name + ".audit")
        self.policy = os.path.join(d, name + ".json")
        with open(self.policy, "w") as f:
            json.dump(policy, f)
        cmd = [PROXY, "--listen", self.sock, "--upstream", upstream, "--policy", self.policy,
               "--box", "testbox", "--audit-log", self.audit] + list(extra)
        env = dict(os.environ)
        env.pop("SSH_ASKPASS", None)
        self.log = os.path.join(d, name + ".stderr")
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        LIVE.append(self.proc)
        wait_for(self.sock, self.proc, "lbx-ssh-proxy")

    def env(self):
        return {"SSH_AUTH_SOCK": self.sock}

    def events(self):
        with open(self.audit) as f:
            return [json.loads(line) for line in f if line.strip()]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        stop_process(self.proc)
        with open(self.log) as f:
            log = f.read()
        # Under ASan/UBSan a report or a leak makes the exit status non-zero.
        if self.proc.returncode != 0 or "Sanitizer" in log or "runtime error" in log:
            UNCLEAN.append("%s: exit %s\n%s" % (self.sock, self.proc.returncode, log))
        STOPPED.append(self.sock)


def keygen(path, kind, comment):
    bits = ["-b", "3072"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", path] + bits,
                   check=True)


def fingerprint(pub):
    r = run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub])
    return r.stdout.split()[1]


def sign(proxy, pub, ns, d, tag):
    """ssh-keygen -Y sign through the proxy; returns (ok, stderr, sigfile)."""
    msg = os.path.join(d, "msg-" + tag)
    with open(msg, "w") as f:
        f.write("payload " + tag + "\n")
    r = run(["ssh-keygen", "-Y", "sign", "-n", ns, "-f", pub, msg], env=proxy.env())
    return r.returncode == 0 and os.path.exists(msg + ".sig"), r.stderr, msg


def verify(pub, ns, msg):
    with open(msg) as f:
        r = run(["ssh-keygen", "-Y", "check-novalidate", "-n", ns, "-f", pub, "-s",
                 msg + ".sig"], input=f.read())
    return r.returncode == 0


# ---- raw agent protocol for the malformed-input checks -------------------

def raw_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def raw_request(s, body):
    s.sendall(struct.pack(">I", len(body)) + body)
    hdr = recv_exact(s, 4)
    if hdr is None:
        return None
    return recv_exact(s, struct.unpack(">I", hdr)[0])


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


def sshstr(b):
    return struct.pack(">I", len(b)) + b


def pubblob(pub):
    with open(pub) as f:
        return base64.b64decode(f.read().split()[1])


def sshsig(ns):
    """PROTOCOL.sshsig signed data for namespace ns."""
    return (b"SSHSIG" + sshstr(ns.encode()) + sshstr(b"") + sshstr(b"sha512") +
            sshstr(b"\x00" * 64))


def sign_request(pub, data):
    return bytes([13]) + sshstr(pubblob(pub)) + sshstr(data) + struct.pack(">I", 0)


# ---- the checks ------------------------------------------------------------

def keys_setup(d, agent):
    keys = {}
    keydir = os.path.join(d, "keys")
    os.mkdir(keydir)
    for kind in ("ed25519", "ecdsa", "rsa"):
        path = os.path.join(keydir, "id_" + kind)
        keygen(path, kind, "key-" + kind)
        agent.add(path)
        keys[kind] = {"pub": path + ".pub", "fp": fingerprint(path + ".pub"),
                      "priv": path}
    # Sign from a directory of public keys only, so ssh-keygen must use the
    # agent (with a private key next to the .pub it would sign by itself).
    pubdir = os.path.join(d, "pub")
    os.mkdir(pubdir)
    for kind, k in keys.items():
        shutil.copy(k["pub"], pubdir)
        k["pub"] = os.path.join(pubdir, os.path.basename(k["pub"]))
    return keys


def check_listing_and_namespaces(d, agent, keys):
    px = Proxy(d, "ns", {"keys": [{"key": keys["ed25519"]["fp"], "namespaces": ["git"]},
                                  {"key": "key-ecdsa", "namespaces": ["git", "file"]}]},
               agent.sock)
    r = run(["ssh-add", "-l"], env=px.env())
    listed = r.stdout
    t.ok(r.returncode == 0 and keys["ed25519"]["fp"] in listed and
         keys["ecdsa"]["fp"] in listed and keys["rsa"]["fp"] not in listed,
         "ssh-add -l lists the ed25519 (by fingerprint) and ecdsa (by comment) keys only",
         listed + r.stderr)
    t.ok(agent.count() == 3, "the upstream agent holds three keys")

    good, err, msg = sign(px, keys["ed25519"]["pub"], "git", d, "ed-git")
    t.ok(good and verify(keys["ed25519"]["pub"], "git", msg),
         "ssh-keygen -Y sign -n git with the given ed25519 key works and verifies", err)
    good, err, _ = sign(px, keys["ecdsa"]["pub"], "file", d, "ec-file")
    t.ok(good, "the ecdsa key, given by comment, signs with namespace file", err)
    good, err, _ = sign(px, keys["rsa"]["pub"], "git", d, "rsa-git")
    t.ok(not good, "the rsa key, not given, cannot sign", err)
    good, err, _ = sign(px, keys["ed25519"]["pub"], "file", d, "ed-file")
    t.ok(not good, "the ed25519 key cannot sign with namespace file (only git given)", err)
    # ssh-keygen does not even ask for an unlisted key; a hostile client would.
    s = raw_connect(px.sock)
    reply = raw_request(s, sign_request(keys["rsa"]["pub"], sshsig("git")))
    t.ok(reply == bytes([5]), "a raw SIGN_REQUEST for the unlisted rsa key is refused", reply)
    reply = raw_request(s, sign_request(keys["ed25519"]["pub"], b"arbitrary bytes"))
    t.ok(reply == bytes([5]), "signing data that is neither userauth nor SSHSIG is refused",
         reply)
    reply = raw_request(s, sign_request(keys["ed25519"]["pub"], sshsig("git")))
    t.ok(reply is not None and reply[0] == 14, "a raw SSHSIG request for git is signed", reply)
    s.close()
    s = raw_connect(px.sock)
    reply = raw_request(s, sign_request(keys["ecdsa"]["pub"], sshsig("file")))
    t.ok(reply is not None and reply[0] == 14,
         "a key given by comment signs on a fresh connection (proxy looks the comment up)",
         reply)
    s.close()
    ev = [e for e in px.events() if e["event"] == "sign"]
    reasons = [e.get("reason", "") for e in ev if e["decision"] == "deny"]
    t.ok(len(ev) == 7 and len(reasons) == 3 and any("namespace" in r for r in reasons) and
         any("not given" in r for r in reasons) and any("neither" in r for r in reasons),
         "one audit line per signature decision, with the reason", json.dumps(ev, indent=1))
    px.stop()


def check_refusals(d, agent, keys):
    px = Proxy(d, "admin", {"keys": [{"key": keys["ed25519"]["fp"]}]}, agent.sock)
    extra = os.path.join(d, "id_extra")
    keygen(extra, "ed25519", "extra")
    askpass = os.path.join(d, "askpass-pw")
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\necho secret\n")
    os.chmod(askpass, 0o755)
    pw = dict(px.env(), SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    r = run(["ssh-add", "-D"], env=px.env())
    t.ok(r.returncode != 0, "ssh-add -D (remove all) fails through the proxy", r.stderr)
    r = run(["ssh-add", extra], env=px.env())
    t.ok(r.returncode != 0, "ssh-add KEY (add identity) fails", r.stderr)
    r = run(["ssh-add", "-d", keys["ed25519"]["pub"]], env=px.env())
    t.ok(r.returncode != 0, "ssh-add -d KEY (remove identity) fails", r.stderr)
    r = run(["ssh-add", "-x"], env=pw)
    t.ok(r.returncode != 0, "ssh-add -x (lock) fails", r.stderr)
    r = run(["ssh-add", "-X"], env=pw)
    t.ok(r.returncode != 0, "ssh-add -X (unlock) fails", r.stderr)
    r = run(["ssh-add", "-s", "/nonexistent/pkcs11.so"], env=px.env())
    t.ok(r.returncode != 0, "ssh-add -s (smartcard) fails", r.stderr)
    t.ok(agent.count() == 3, "the upstream agent still holds three keys and is not locked")
    refused = [e.get("request") for e in px.events() if e["event"] == "refused"]
    want = {"remove all identities", "add identity", "remove identity", "lock", "unlock",
            "add smartcard key"}
    t.ok(want <= set(refused), "each refusal has an audit line", refused)

    s = raw_connect(px.sock)
    reply = raw_request(s, bytes([1]))  # SSH-1 REQUEST_RSA_IDENTITIES
    t.ok(reply == bytes([5]), "an SSH-1 request gets SSH_AGENT_FAILURE", reply)
    reply = raw_request(s, bytes([27]) + sshstr(b"query"))
    t.ok(reply == bytes([5]), "an unsupported extension (query) gets SSH_AGENT_FAILURE", reply)
    reply = raw_request(s, bytes([99]))
    t.ok(reply == bytes([5]), "an unknown message type gets SSH_AGENT_FAILURE", reply)
    reply = raw_request(s, bytes([11]))
    t.ok(reply is not None and reply[0] == 12, "the connection keeps working after refusals")
    s.close()
    px.stop()


def check_malformed(d, agent, keys):
    px = Proxy(d, "bad", {"keys": [{"key": keys["ed25519"]["fp"]}]}, agent.sock)
    good = raw_connect(px.sock)
    t.ok(raw_request(good, bytes([11]))[0] == 12, "a second connection is served")
    bad = raw_connect(px.sock)
    # SIGN_REQUEST whose key string claims more bytes than the message holds.
    bad.sendall(struct.pack(">I", 9) + bytes([13]) + struct.pack(">I", 1000) + b"abcd")
    t.ok(closed_by_peer(bad), "a malformed SIGN_REQUEST closes that connection")
    bad = raw_connect(px.sock)
    bad.sendall(struct.pack(">I", 0x7fffffff) + bytes([11]))
    t.ok(closed_by_peer(bad), "a message longer than 256 KiB closes that connection")
    bad = raw_connect(px.sock)
    bad.sendall(struct.pack(">I", 2) + bytes([11, 0]))
    t.ok(closed_by_peer(bad), "trailing bytes after REQUEST_IDENTITIES close that connection")
    reply = raw_request(good, bytes([11]))
    t.ok(reply is not None and reply[0] == 12 and px.alive(),
         "the other connection keeps working and the proxy keeps running")
    closes = [e for e in px.events() if e["event"] == "close"]
    t.ok(len(closes) == 3, "each closed connection has an audit line", closes)
    # A forged session-bind: a real host key, a signature that does not verify.
    with open(keys["ecdsa"]["pub"]) as f:
        hostkey = base64.b64decode(f.read().split()[1])
    fake_sig = sshstr(b"ecdsa-sha2-nistp256") + sshstr(sshstr(b"\x01" * 32) + sshstr(b"\x02" * 32))
    body = (bytes([27]) + sshstr(b"session-bind@openssh.com") + sshstr(hostkey) +
            sshstr(b"S" * 32) + sshstr(fake_sig) + b"\x00")
    reply = raw_request(good, body)
    t.ok(reply == bytes([5]), "a session-bind whose signature does not verify is refused", reply)
    good.close()
    px.stop()


def check_confirm(d, agent, keys):
    count = os.path.join(d, "askpass.count")

    def askpass(name, answer):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write('#!/bin/sh\nprintf "%%s|%%s\\n" "$SSH_ASKPASS_PROMPT" "$1" >> %s\n%s\n'
                    % (count, answer))
        os.chmod(path, 0o755)
        return path

    policy = {"keys": [{"key": keys["ed25519"]["fp"], "namespaces": ["git"], "confirm": True}]}
    no = askpass("askpass-no", "exit 1")
    px = Proxy(d, "confirm-no", policy, agent.sock, ["--askpass", no])
    good, err, _ = sign(px, keys["ed25519"]["pub"], "git", d, "confirm-no")
    t.ok(not good, "a confirm policy with an askpass that says no denies the signature", err)
    with open(count) as f:
        lines = f.read().splitlines()
    t.ok(len(lines) == 1 and lines[0].startswith("confirm|") and "testbox" in lines[0] and
         keys["ed25519"]["fp"] in lines[0] and '"git"' in lines[0],
         "askpass ran with SSH_ASKPASS_PROMPT=confirm, naming box, key and namespace", lines)
    px.stop()

    os.unlink(count)
    yes = askpass("askpass-yes", "echo yes")
    px = Proxy(d, "confirm-yes", policy, agent.sock,
               ["--askpass", yes, "--confirm-window", "3600"])
    good1, err1, _ = sign(px, keys["ed25519"]["pub"], "git", d, "confirm-yes1")
    good2, err2, _ = sign(px, keys["ed25519"]["pub"], "git", d, "confirm-yes2")
    with open(count) as f:
        n = len(f.read().splitlines())
    t.ok(good1 and good2, "an askpass that says yes allows the signature", err1 + err2)
    t.ok(n == 1, "within the allow window the same key and purpose is not asked again", n)
    px.stop()

    os.unlink(count)
    px = Proxy(d, "confirm-always", policy, agent.sock, ["--askpass", yes,
                                                         "--confirm-window", "0"])
    sign(px, keys["ed25519"]["pub"], "git", d, "confirm-always1")
    sign(px, keys["ed25519"]["pub"], "git", d, "confirm-always2")
    with open(count) as f:
        n = len(f.read().splitlines())
    t.ok(n == 2, "with --confirm-window 0 every signature is asked for", n)
    px.stop()

    px = Proxy(d, "confirm-none", policy, agent.sock)
    good, err, _ = sign(px, keys["ed25519"]["pub"], "git", d, "confirm-none")
    t.ok(not good, "a confirm policy without an askpass program denies", err)
    px.stop()


def check_rate(d, agent, keys):
    px = Proxy(d, "rate", {"keys": [{"key": keys["ed25519"]["fp"]}], "rate": "2/hour"},
               agent.sock)
    results = [sign(px, keys["ed25519"]["pub"], "git", d, "rate%d" % i)[0] for i in range(3)]
    t.ok(results == [True, True, False], "rate 2/hour: two signatures, then refused", results)
    t.ok(any(e.get("reason") == "rate limit reached" for e in px.events()),
         "the rate refusal is audited")
    px.stop()


def check_limits(d, agent, keys):
    """Clients are capped per box and idle ones time out, so idle clients
    cannot lock the box out of its agent."""
    policy = {"keys": [{"key": keys["ed25519"]["fp"]}]}
    px = Proxy(d, "cap-default", policy, agent.sock)
    held = [raw_connect(px.sock) for _ in range(16)]
    served = sum(1 for s in held if (raw_request(s, bytes([11])) or b"\0")[0] == 12)
    t.ok(served == 16, "by default 16 clients are served at once", served)
    extra = raw_connect(px.sock)
    t.ok(closed_by_peer(extra), "the 17th is refused (closed at once)")
    for s in held + [extra]:
        s.close()
    px.stop()

    px = Proxy(d, "cap", policy, agent.sock, ["--max-connections", "3", "--idle-timeout", "2"])
    held = [raw_connect(px.sock) for _ in range(3)]
    served = sum(1 for s in held if (raw_request(s, bytes([11])) or b"\0")[0] == 12)
    t.ok(served == 3, "--max-connections 3: three clients served", served)
    refused = [raw_connect(px.sock) for _ in range(3)]
    t.ok(all(closed_by_peer(s) for s in refused), "a fourth, fifth and sixth are refused")
    with open(px.log) as f:
        lines = [ln for ln in f if "refusing more" in ln]
    t.ok(len(lines) == 1, "with one log line for the three refusals", lines)
    # An active client (a request every 0.2 s) outlives idle ones.
    active = held.pop()
    alive = True
    for _ in range(15):
        reply = raw_request(active, bytes([11]))
        alive = alive and reply is not None and reply[0] == 12
        time.sleep(0.2)
    t.ok(all(closed_by_peer(s) for s in held), "idle clients are closed (--idle-timeout 2)")
    t.ok(alive, "a client with a request every 0.2 s is not")
    idle = [e for e in px.events() if e["event"] == "close" and "idle" in e.get("reason", "")]
    t.ok(len(idle) == 2, "each idle close has an audit line", idle)
    fresh = raw_connect(px.sock)
    reply = raw_request(fresh, bytes([11]))
    t.ok(reply is not None and reply[0] == 12, "once slots are free a new client is served")
    for s in held + refused + [active, fresh]:
        s.close()
    px.stop()


def check_comment_ambiguity(d):
    """A rule by comment grants exactly one key of the upstream agent: with
    two keys of that comment it grants neither, and says so."""
    agent = Agent(os.path.join(d, "dup-agent"))
    keydir = os.path.join(d, "dup-keys")
    os.mkdir(keydir)
    keys = {}
    for name, comment in (("a", "shared"), ("b", "shared"), ("c", "solo")):
        path = os.path.join(keydir, "id_" + name)
        keygen(path, "ed25519", comment)
        agent.add(path)
        keys[name] = {"pub": path + ".pub", "fp": fingerprint(path + ".pub")}
    px = Proxy(d, "dup", {"keys": [{"key": "shared"}, {"key": "solo"}]}, agent.sock)
    r = run(["ssh-add", "-l"], env=px.env())
    t.ok(r.returncode != 0 and keys["a"]["fp"] not in r.stdout,
         "listing keys fails while a comment rule names two keys", r.stdout + r.stderr)
    s = raw_connect(px.sock)
    reply = raw_request(s, sign_request(keys["a"]["pub"], sshsig("git")))
    t.ok(reply == bytes([5]), "a SIGN_REQUEST for one of the two 'shared' keys is refused", reply)
    reply = raw_request(s, sign_request(keys["b"]["pub"], sshsig("git")))
    t.ok(reply == bytes([5]), "and for the other", reply)
    reply = raw_request(s, sign_request(keys["c"]["pub"], sshsig("git")))
    t.ok(reply is not None and reply[0] == 14,
         "the key whose comment ('solo') is unique still signs", reply)
    s.close()
    ev = px.events()
    amb = [e for e in ev if e["decision"] == "deny" and "ambiguous" in e.get("reason", "")]
    t.ok(any(e["event"] == "identities" for e in amb) and
         sum(1 for e in amb if e["event"] == "sign") == 2 and
         all(keys["a"]["fp"] in e["reason"] and keys["b"]["fp"] in e["reason"] for e in amb),
         "audit lines name the ambiguous rule and both keys", json.dumps(amb, indent=1))
    with open(px.log) as f:
        log = f.read()
    t.ok("\"shared\" is ambiguous" in log, "and the log says so", log)
    px.stop()
    agent.stop()


def check_policy_errors(d):
    bad = os.path.join(d, "bad.json")
    cases = [
        ('{"keys":[{"key":"a"},{"key":"b","confirm":"yes"}]}',
         "ssh.keys[1].confirm: expected true or false"),
        ('{"keys":[{"key":"a","colour":1}]}', "ssh.keys[0].colour: unknown key"),
        ('{"keys":[],"rate":"often"}', "ssh.rate: expected"),
        ('{"keys":[{"key":"SHA256:short"}]}', "ssh.keys[0].key: expected SHA256:"),
    ]
    for text, want in cases:
        with open(bad, "w") as f:
            f.write(text)
        r = run([PROXY, "--check", "--policy", bad])
        t.ok(r.returncode == 1 and want in r.stderr and bad in r.stderr,
             "bad policy is an error naming the file and '%s'" % want, r.stderr)


# ---- sshd -------------------------------------------------------------------

class Sshd:
    def __init__(self, d, kind, authorized):
        self.dir = os.path.join(d, "sshd-" + kind)
        os.mkdir(self.dir)
        self.hostkey = os.path.join(self.dir, "hostkey")
        keygen(self.hostkey, kind, "host")
        with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
            f.write(authorized)
        self.port = free_port()
        conf = os.path.join(self.dir, "sshd_config")
        with open(conf, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\n"
                    "AuthorizedKeysFile %s/authorized_keys\nStrictModes no\nUsePAM no\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nPidFile %s/sshd.pid\n"
                    % (self.port, self.hostkey, self.dir, self.dir))
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        LIVE.append(self.proc)
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("sshd: " + self.proc.stderr.read())
                time.sleep(0.01)
        raise RuntimeError("sshd did not listen")

    def known_hosts_line(self):
        with open(self.hostkey + ".pub") as f:
            kind, b64 = f.read().split()[:2]
        return "[127.0.0.1]:%d %s %s\n" % (self.port, kind, b64)

    def stop(self):
        stop_process(self.proc)


def ssh_true(proxy, sshd, known_hosts, user="root"):
    r = run(["ssh", "-F", "/dev/null", "-p", str(sshd.port), "-o", "IdentityAgent=" + proxy.sock,
             "-o", "UserKnownHostsFile=" + known_hosts, "-o", "StrictHostKeyChecking=yes",
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=no", "-o", "ConnectTimeout=20",
             "%s@127.0.0.1" % user, "true"])
    return r.returncode == 0, r.stderr


def sshd_usable():
    if not os.path.exists(SSHD):
        return "sshd (openssh-server) is not installed"
    if os.geteuid() != 0:
        return "sshd needs root to authenticate a user here"
    os.makedirs("/run/sshd", exist_ok=True)  # its privilege separation directory
    return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def check_sshd(d, agent, keys, kind):
    with open(keys["ed25519"]["pub"]) as f:
        sshd = Sshd(d, kind, f.read())
    kh = write(os.path.join(sshd.dir, "known_hosts"), sshd.known_hosts_line())
    fp = keys["ed25519"]["fp"]

    def proxy(name, dests, known_hosts=kh):
        return Proxy(sshd.dir, name, {"keys": [{"key": fp, "destinations": dests}]}, agent.sock,
                     ["--known-hosts", known_hosts])

    px = proxy("allow", ["root@127.0.0.1"])
    good, err = ssh_true(px, sshd, kh)
    ev = [e for e in px.events() if e["event"] == "sign"]
    binds = [e for e in px.events() if e["event"] == "session-bind"]
    t.ok(good and ev and ev[-1]["decision"] == "allow" and ev[-1]["user"] == "root",
         "%s host key: ssh root@127.0.0.1 works when root@127.0.0.1 is allowed" % kind, err)
    t.ok(binds and binds[0]["decision"] == "allow" and "verified" in binds[0]["reason"],
         "%s host key: the session-bind signature verified" % kind, binds)
    px.stop()

    px = proxy("deny-user", ["git@127.0.0.1"])
    good, err = ssh_true(px, sshd, kh)
    ev = [e for e in px.events() if e["event"] == "sign"]
    t.ok(not good and ev and ev[-1]["decision"] == "deny",
         "%s host key: refused when only git@127.0.0.1 is allowed" % kind, err)
    px.stop()

    if kind != "ed25519":
        sshd.stop()
        return
    px = proxy("deny-host", ["root@github.com"])
    good, err = ssh_true(px, sshd, kh)
    t.ok(not good, "refused when only another host is allowed", err)
    px.stop()

    px = proxy("wild", ["*@127.0.0.*"])
    good, err = ssh_true(px, sshd, kh)
    t.ok(good, "a wildcard destination *@127.0.0.* allows it", err)
    px.stop()

    px = proxy("port", ["root@[127.0.0.1]:%d" % (sshd.port + 1 if sshd.port < 65535 else 1)])
    good, err = ssh_true(px, sshd, kh)
    t.ok(not good, "a destination naming another port refuses it", err)
    px.stop()

    hashed = write(os.path.join(sshd.dir, "known_hosts_hashed"), sshd.known_hosts_line())
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", hashed], check=True,
                   capture_output=True)
    with open(hashed) as f:
        is_hashed = f.read().startswith("|1|")
    px = proxy("hashed", ["root@[127.0.0.1]:%d" % sshd.port], hashed)
    good, err = ssh_true(px, sshd, hashed)
    t.ok(is_hashed and good, "a hashed known_hosts entry resolves root@[127.0.0.1]:PORT", err)
    px.stop()

    empty = write(os.path.join(sshd.dir, "known_hosts_empty"), "")
    px = proxy("unknown", ["*@*"], empty)
    good, err = ssh_true(px, sshd, kh)
    t.ok(not good, "a host key missing from the proxy's known_hosts matches no destination",
         err)
    px.stop()

    px = Proxy(sshd.dir, "any", {"keys": [{"key": fp}]}, agent.sock, ["--known-hosts", empty])
    good, err = ssh_true(px, sshd, kh)
    t.ok(good, "a key without destinations may log in anywhere", err)
    px.stop()
    check_upstream_constraint(sshd, keys, kh)
    sshd.stop()


def check_upstream_constraint(sshd, keys, kh):
    """ssh-agent refuses a destination-constrained key (ssh-add -h) on a
    connection that was not bound; so this login proves the proxy passes
    session-bind to the upstream on the client's own upstream connection."""
    agent = Agent(os.path.join(sshd.dir, "constrained"))
    plain = write(os.path.join(sshd.dir, "known_hosts_plain"),
                  "127.0.0.1 " + sshd.known_hosts_line().split(" ", 1)[1])
    r = run(["ssh-add", "-q", "-H", plain, "-h", "127.0.0.1", keys["ed25519"]["priv"]],
            env={"SSH_AUTH_SOCK": agent.sock})
    px = Proxy(sshd.dir, "constrained", {"keys": [{"key": keys["ed25519"]["fp"],
                                                   "destinations": ["root@127.0.0.1"]}]},
               agent.sock, ["--known-hosts", kh])
    good, err = ssh_true(px, sshd, kh)
    t.ok(r.returncode == 0 and good,
         "an upstream key constrained with ssh-add -h works through the proxy "
         "(session-bind reaches the upstream)", r.stderr + err)
    px.stop()
    agent.stop()


def main():
    for tool in ("ssh-agent", "ssh-add", "ssh-keygen", "ssh"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s (openssh-client) is not installed" % tool)
            return 0
    d = tempfile.mkdtemp(prefix="lbx-ssh-test-")
    try:
        agent = Agent(d)
        keys = keys_setup(d, agent)
        check_listing_and_namespaces(d, agent, keys)
        check_refusals(d, agent, keys)
        check_malformed(d, agent, keys)
        check_confirm(d, agent, keys)
        check_rate(d, agent, keys)
        check_limits(d, agent, keys)
        check_comment_ambiguity(d)
        check_policy_errors(d)
        why = sshd_usable()
        for kind in ("ed25519", "ecdsa", "rsa"):
            if why:
                t.skip("ssh through the proxy to sshd with a %s host key" % kind, why)
            else:
                check_sshd(d, agent, keys, kind)
        t.ok(STOPPED and not UNCLEAN,
             "all %d proxies stopped cleanly on SIGTERM, no sanitizer report" % len(STOPPED),
             "\n".join(UNCLEAN))
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        t.ok(False, "test environment", repr(e))
    finally:
        for proc in LIVE:
            stop_process(proc)
        shutil.rmtree(d, ignore_errors=True)
    return t.result()


if __name__ == "__main__":
    sys.exit(main())
