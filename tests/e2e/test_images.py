#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Images and engine light: `lbx build` of a Containerfile FROM the Debian
base (mmdebstrap, cached), the root tree's ownership as the guest sees it,
`lbx up --light` (podman + runc) with exec, Landlock, the SSH agent proxy
and `lbx down`; then the same tree booted under engine qemu. Runs the real
CLI with its own XDG directories; the image cache and podman's store are
the machine's, so a second run reuses the Debian base."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import (Skip, approve_first, build_dir, host_ssh_agent, kernel_dir,  # noqa: E402
                     main, qemu_binary, stop_process)
from testlib import http_server, lbx_env  # noqa: E402

XATTR = "user.containers.override_stat"

CONTAINERFILE = """\
FROM localhost/lbx-debian:bookworm
RUN useradd -u 1234 -m alice && install -o alice -g alice -m 0600 /dev/null /home/alice/secret
RUN echo {marker} > /etc/lbx-built
RUN (curl -s --max-time 10 http://{host}/ || echo unreachable) > /etc/lbx-build-net; \
    tail -n +3 /proc/net/dev | cut -d: -f1 > /etc/lbx-build-ifs
"""


def host_address():
    """This host's address on its default route (not loopback), or None."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))  # no packet is sent: this only picks a route
        return s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()


def need(*programs):
    for p in programs:
        if not shutil.which(p):
            raise Skip(f"{p} is not installed (make setup installs it)")


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lbx-img-")
        self.env = lbx_env(self.tmp)
        self.env["LBX_KERNEL_DIR"] = kernel_dir()
        # One box name per run: podman's container names are machine-wide.
        self.name = "img" + os.path.basename(self.tmp)[len("lbx-img-"):].lower().replace("_", "")
        self.project = os.path.join(self.tmp, self.name)
        os.makedirs(self.project)
        self.root = os.path.join(self.tmp, "data", "lbx", "boxes", self.name, "root")
        self.exe = os.path.join(build_dir(), "lbx", "lbx")
        self.agent = None
        # Services on the host's loopback (a database, say): the box's network.host
        # rule lets it reach the first; the second, without a rule, is refused.
        self.allowed = http_server(body=b"hello from the host\n")
        self.other = http_server(body=b"hello from the host\n")
        # What a Containerfile's RUN step must not reach: the host on its own address
        # (rootless podman build runs RUN in the host's network namespace by default).
        self.host_ip = host_address()
        self.build_peer = http_server(addr="0.0.0.0", body=b"reached at build time\n")
        self.build_url = f"{self.host_ip or '127.0.0.1'}:{self.build_peer.server_address[1]}"

    def lbx(self, *args, timeout=300):
        return approve_first(lambda *a: subprocess.run(
            [self.exe] + list(a), cwd=self.project, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout), args)

    def sh(self, script, *flags):
        return self.lbx("exec", *flags, self.name, "--", "sh", "-c", script)

    def write(self, rel, text):
        with open(os.path.join(self.project, rel), "w") as f:
            f.write(text)

    def start_agent(self):
        """A host ssh-agent with two keys; returns their fingerprints."""
        self.agent, sock, keys = host_ssh_agent(self.tmp, {"given": "ed25519", "other": "ed25519"})
        self.env["SSH_AUTH_SOCK"] = sock
        return [keys["given"], keys["other"]]

    def container_exists(self):
        # lbx's environment: rootless podman keeps its state under XDG_RUNTIME_DIR.
        return subprocess.run(["podman", "container", "exists", "lbx-" + self.name],
                              env=self.env).returncode == 0

    def cleanup(self):
        self.lbx("down", self.name, timeout=120)
        if self.agent:
            stop_process(self.agent)
        for srv in (self.allowed, self.other, self.build_peer):
            srv.shutdown()
            srv.server_close()
        subprocess.run(["podman", "rmi", "--force", "localhost/lbx-box:" + self.name],
                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, True)


def xattr(path):
    try:
        return os.getxattr(path, XATTR, follow_symlinks=False).decode()
    except OSError as e:
        return f"<{e.strerror}>"


def check_tree(t, e):
    """The root tree on the host: the user owns it, the guest's view is in the xattr."""
    passwd = os.path.join(e.root, "etc", "passwd")
    st = os.lstat(passwd)
    t.eq((st.st_uid, st.st_gid), (os.getuid(), os.getgid()),
         "on disk the host user owns /etc/passwd")
    t.eq(xattr(passwd), "0:0:0644", "the xattr makes it root's (0644) for the guest")
    t.eq(xattr(os.path.join(e.root, "home", "alice", "secret")), "1234:1234:0600",
         "a file the Containerfile gave to uid 1234 keeps that owner in the xattr")
    su = os.path.join(e.root, "usr", "bin", "passwd")
    t.ok(os.lstat(su).st_mode & 0o6000 == 0 and xattr(su) == "0:0:04755",
         "set-uid lives in the xattr only, not on the host", (oct(os.lstat(su).st_mode), xattr(su)))
    t.eq(xattr(os.path.join(e.root, "etc", "shadow")), "0:42:0640", "/etc/shadow keeps group shadow")
    with open(os.path.join(e.root, "etc", "lbx-build-net")) as f:
        net = f.read()
    with open(os.path.join(e.root, "etc", "lbx-build-ifs")) as f:
        ifs = f.read().split()
    t.ok(net == "unreachable\n" and ifs == ["lo"],
         f"a RUN step has no network: only lo (/proc/net/dev), the host ({e.build_url}) is not "
         "reached",
         (net, ifs))


def owned_by_user(path, root_session):
    """The host user's, or (rootless, a root session) one of the user's own
    subordinate ids: never another host user's, never root's."""
    uid = os.stat(path).st_uid
    if uid == os.getuid():
        return True
    if not root_session or os.getuid() == 0:
        return False
    name = pwd.getpwuid(os.getuid()).pw_name
    with open("/etc/subuid") as f:
        for line in f:
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[0] in (name, str(os.getuid())):
                if int(parts[1]) <= uid < int(parts[1]) + int(parts[2]):
                    return True
    return False


def check_light(t, e, fps):
    r = e.lbx("up", "--light")
    if not t.ok(r.returncode == 0 and b"engine light" in r.stderr, "lbx up --light", r.stderr):
        print("#", e.lbx("logs", e.name).stdout.decode()[-2000:])
        return False
    t.ok(e.container_exists(), "a podman container runs the box")
    st = json.loads(e.lbx("status", e.name, "--json").stdout)
    t.eq(st.get("state", {}).get("engine"), "light", "status records engine light")
    r = e.sh("pwd; cat /etc/lbx-built; tr '\\0' ' ' </proc/1/cmdline; echo; id -u")
    lines = r.stdout.decode().splitlines()
    t.ok(r.returncode == 0 and len(lines) == 4 and lines[0] == e.project and lines[1] == "one"
         and lines[2].startswith("/run/lbx-agent lbx.") and " lbx.serve=unix:" in lines[2] and lines[3] == str(os.getuid()),
         "exec runs in the container: the project, the built image, lbx-agent as PID 1, "
         "the host uid", r.stdout + r.stderr)
    t.eq(e.sh("exit 7").returncode, 7, "exit status comes back")
    r = e.sh("echo from-light > from-light.txt")
    path = os.path.join(e.project, "from-light.txt")
    t.ok(r.returncode == 0 and os.path.exists(path) and os.stat(path).st_uid == os.getuid(),
         "a session writes the project, as the host user", r.stderr)
    for target in ("/etc/lbx-evil", "/usr/lbx-evil", "/srv/lbx-evil"):
        r = e.sh(f"echo x > {target}")
        t.ok(r.returncode != 0 and b"Permission denied" in r.stderr,
             f"Landlock: a session cannot write {target} (EACCES)", r.stderr)
    t.ok(not os.path.exists(os.path.join(e.root, "etc", "lbx-evil")), "and nothing appeared there")
    r = e.sh("echo y > /tmp/ok && cat /tmp/ok && echo z > ~/keep-me && cat ~/keep-me")
    t.eq(r.stdout, b"y\nz\n", "but it writes /tmp and its home", r.stderr)
    r = e.sh("kill -0 1")
    t.ok(r.returncode != 0, "a session cannot signal the agent", r.stderr)
    r = e.sh("ssh-add -l; echo $SSH_AUTH_SOCK")
    out = r.stdout.decode()
    t.ok(fps[0] in out and fps[1] not in out and "/run/lbx/ssh-agent.sock" in out,
         "ssh-add -l in the container sees only the box's key, through lbx-ssh-proxy",
         out + r.stderr.decode())
    proxy_log = os.path.join(e.tmp, "data", "lbx", "boxes", e.name, "ssh-audit.log")
    t.ok(os.path.exists(proxy_log) and os.path.getsize(proxy_log) > 0,
         "the proxy audited the request")
    # The agent's own socket is in the container: a session connecting to it
    # (Landlock cannot stop a unix connect) is refused by peer credentials.
    r = e.sh("curl -s --max-time 10 --unix-socket /run/lbx/host/agent.sock http://box/; echo rc=$?")
    # The agent's warning reaches the console log through podman: give it a moment.
    for _ in range(20):
        logs = e.lbx("logs", e.name).stdout.decode(errors="replace")
        if "refused a connection from pid" in logs:
            break
        time.sleep(0.5)
    # The agent refuses the peer, or the connect fails outright (rc 7).
    t.ok(b"rc=0" not in r.stdout and ("refused a connection from pid" in logs or
                                      b"rc=7" in r.stdout),
         "a session that connects to the agent's socket is refused (only the host drives it)",
         r.stdout + r.stderr + logs[-1500:].encode())
    check_light_net(t, e)
    r = e.lbx("exec", "--root", e.name, "--", "sh", "-c", "touch /etc/by-root && id -u")
    t.ok(r.returncode == 0 and r.stdout == b"0\n", "a --root session may write the image", r.stderr)
    # The container's files are the host's: no session, root or not, makes a
    # set-id file, a device node or a foreign owner there (the file-system guard).
    for root in ([], ["--root"]):
        who = "a --root session" if root else "a session"
        r = e.lbx("exec", *root, e.name, "--", "sh", "-c",
                  "cp /bin/sh ./rootsh; chmod 4755 rootsh; echo chmod=$?; chmod 755 rootsh;"
                  " echo plain=$?; mknod ./nod c 1 3; echo mknod=$?;"
                  " chown 1234 rootsh; echo chown=$?")
        out = r.stdout.decode()
        sh = os.path.join(e.project, "rootsh")
        t.ok("chmod=1" in out and "plain=0" in out and "mknod=1" in out and "chown=1" in out
             and os.path.exists(sh) and os.stat(sh).st_mode & 0o6000 == 0
             and not os.path.exists(os.path.join(e.project, "nod"))
             and owned_by_user(sh, root),
             f"engine light: {who} cannot make set-id, device or foreign-owned files on the host",
             out + r.stderr.decode())
        os.unlink(sh)

    # A root session puts a socket of its own where the agent's was: the host
    # must not hand it a session (argv, cwd, environment), and lbx down still works.
    fake = ("rm -f /run/lbx/host/agent.sock; setsid perl -MIO::Socket::UNIX -e "
            "'$s = IO::Socket::UNIX->new(Local => \"/run/lbx/host/agent.sock\", Listen => 5)"
            " or die; chmod(0777, \"/run/lbx/host/agent.sock\"); open(F, \">/run/lbx/host/fake-got\"); select(F); $| = 1; select(STDOUT); while ($c = $s->accept) { sysread($c, $b, 65536);"
            " print F $b; close $c }' </dev/null >/dev/null 2>&1 & sleep 2; test -S /run/lbx/host/agent.sock"
            " && echo planted")
    r = e.lbx("exec", "--root", e.name, "--", "sh", "-c", fake)
    planted = r.stdout.strip() == b"planted"
    r = e.lbx("exec", "-e", "SECRET=hunter2", e.name, "--", "echo", "forged?")
    t.ok(planted and r.returncode != 0 and b"not served by the box's agent" in r.stderr
         and b"forged" not in r.stdout,
         "a socket a session put in place of the agent's is refused (peer credentials)",
         (planted, r.returncode, r.stdout, r.stderr))
    got = os.path.join(e.env["XDG_RUNTIME_DIR"], "lbx", e.name, "light", "fake-got")
    t.ok(os.path.exists(got) and b"hunter2" not in open(got, "rb").read(),
         "and it never saw the session's environment")
    if os.path.exists(got):
        os.unlink(got)
    r = e.lbx("down", e.name)
    t.ok(r.returncode == 0 and b"is down" in r.stderr, "lbx down", r.stderr)
    t.ok(not e.container_exists(), "lbx down removes the container")
    rt = os.path.join(e.env["XDG_RUNTIME_DIR"], "lbx", e.name)
    t.ok(not os.path.exists(rt), "no runtime directory left behind")
    return True


def check_light_net(t, e):
    """Engine light's network is lbx-netd's, with the box's policy, as in a VM."""
    r = e.sh("cat /sys/class/net/eth0/address; grep -c '^eth0[[:space:]]00000000' /proc/net/route;"
             " cat /etc/resolv.conf")
    out = r.stdout.decode()
    t.ok(r.returncode == 0 and out.startswith("52:54:00:12:34:56\n1\n") and
         "nameserver 10.0.2.3" in out,
         "engine light: eth0 (a tap relayed to lbx-netd) with the default route and slirp's DNS",
         out + r.stderr.decode())
    allowed, other = e.allowed.server_address[1], e.other.server_address[1]
    r = e.sh(f"curl -s --max-time 30 http://10.0.2.2:{allowed}/")
    t.ok(r.returncode == 0 and r.stdout == b"hello from the host\n",
         "engine light: the host service the box's host rule names is reached through lbx-netd",
         r.stdout + r.stderr)
    r = e.sh(f"curl -s --max-time 30 http://10.0.2.2:{other}/; echo rc=$?")
    t.ok(b"hello" not in r.stdout and b"rc=0" not in r.stdout,
         "engine light: another host port, without a rule, is refused", r.stdout + r.stderr)
    r = e.lbx("net", e.name, "--json")
    try:
        st = json.loads(r.stdout)
    except ValueError:
        st = {}
    t.ok(r.returncode == 0 and st.get("transport") == "stream" and "denied" in json.dumps(st),
         "lbx net shows the live policy of a light box (stream transport, denied flows)",
         r.stdout + r.stderr)
    r = e.lbx("exec", "--root", e.name, "--", "sh", "-c",
              "awk '/^CapBnd/ {print $2}' /proc/self/status")
    try:
        bnd = int(r.stdout.decode().strip(), 16)
    except ValueError:
        bnd = -1
    t.ok(bnd >= 0 and not bnd & (1 << 12),
         "even a root session has no CAP_NET_ADMIN (the agent dropped it after eth0)",
         r.stdout + r.stderr)


def check_qemu(t, e):
    r = e.lbx("up", "--engine", "qemu")
    if not t.ok(r.returncode == 0, "the same tree boots under engine qemu", r.stderr):
        print("#", e.lbx("logs", e.name).stdout.decode()[-2000:])
        return
    r = e.sh("stat -c '%U:%G %a' /etc/passwd /etc/shadow; stat -c %u:%g /home/alice/secret; "
             "cat /etc/lbx-built ~/keep-me; test -u /usr/bin/passwd && echo setuid")
    t.eq(r.stdout.decode(), "root:root 644\nroot:shadow 640\n1234:1234\ntwo\nz\nsetuid\n",
         "in the VM /etc/passwd is root's, owners and set-uid come from the xattrs, the home "
         "was kept", r.stderr)
    r = e.sh("echo x > /etc/lbx-evil")
    t.ok(r.returncode != 0 and b"Permission denied" in r.stderr,
         "Landlock in the VM too", r.stderr)
    r = e.sh(f"curl -s --max-time 60 http://10.0.2.2:{e.allowed.server_address[1]}/")
    t.ok(r.returncode == 0 and r.stdout == b"hello from the host\n",
         "the VM reaches the same host service under the same policy", r.stdout + r.stderr)
    t.eq(e.lbx("down", e.name).returncode, 0, "lbx down (qemu)")


def test_images(t):
    need("podman", "runc", "mmdebstrap", "ssh-agent", "ssh-add")
    qemu_binary()
    e = Env()
    try:
        fps = e.start_agent()
        e.write("Containerfile", CONTAINERFILE.format(marker="one", host=e.build_url))
        e.write("lbx.json", json.dumps({
            "name": e.name, "image": {"containerfile": "Containerfile"},
            "ssh": {"keys": [{"key": fps[0]}]},
            "network": {"host": [f"tcp:{e.allowed.server_address[1]}"]}}))
        start = time.monotonic()
        r = e.lbx("build", timeout=2400)
        t.note(f"lbx build took {time.monotonic() - start:.0f} s")
        err = r.stderr.decode()
        if not t.ok(r.returncode == 0 and "podman build" in err and "is built" in err,
                    "lbx build of a Containerfile FROM the Debian base", err[-3000:]):
            return
        t.ok("debian base: cached" in err or "debian base: built in" in err,
             "the Debian base came from the cache or was built with progress", err[-1500:])
        check_tree(t, e)
        if not check_light(t, e, fps):
            return
        # A rebuild (changed Containerfile) keeps the home and the project.
        e.write("Containerfile", CONTAINERFILE.format(marker="two", host=e.build_url))
        r = e.lbx("build", timeout=2400)
        t.ok(r.returncode == 0 and b"kept the box's home" in r.stderr,
             "lbx build again keeps the box's home", r.stderr.decode()[-2000:])
        t.ok(os.path.exists(os.path.join(e.project, "from-light.txt")), "and the project")
        check_qemu(t, e)
        r = e.lbx("up", "--light")
        t.ok(r.returncode == 0 and e.sh("cat /etc/lbx-built").stdout == b"two\n",
             "back on engine light, the same rebuilt tree", r.stderr)
        r = e.lbx("build")
        t.ok(r.returncode != 0 and b"is running" in r.stderr, "no build while the box runs",
             r.stderr)
        e.lbx("down", e.name)
        r = e.lbx("rm", e.name)
        t.ok(r.returncode == 0 and not os.path.exists(e.root), "lbx rm removes the tree", r.stderr)
        gone = subprocess.run(["podman", "image", "exists", "localhost/lbx-box:" + e.name],
                              env=e.env)
        t.ok(gone.returncode == 1, "and the podman image lbx build made for the box")
    finally:
        e.cleanup()


def test_bad_containerfile(t):
    need("podman", "runc")
    e = Env()
    try:
        e.write("lbx.json", json.dumps({"name": e.name, "image": {"containerfile": "../Cf"}}))
        r = e.lbx("build")
        lines = r.stderr.decode().strip().splitlines()
        t.ok(r.returncode != 0 and len(lines) == 1 and "image.containerfile" in lines[0],
             "a Containerfile outside the project is one line naming the key", r.stderr)
        e.write("lbx.json", json.dumps({"name": e.name, "image": {"containerfile": "Nope"}}))
        r = e.lbx("build")
        t.ok(r.returncode != 0 and b"cannot read the Containerfile" in r.stderr,
             "a missing Containerfile is named", r.stderr)
        e.write("Containerfile", "FROM scratch\nRUN /no/such/program\n")
        e.write("lbx.json", json.dumps({"name": e.name, "image": {"containerfile": "Containerfile"}}))
        r = e.lbx("build")
        t.ok(r.returncode != 0 and b"podman build of" in r.stderr and not os.path.exists(e.root),
             "a failing build says so and leaves no tree", r.stderr.decode()[-1500:])
    finally:
        e.cleanup()


if __name__ == "__main__":
    main([test_bad_containerfile, test_images])
