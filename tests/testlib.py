# SPDX-License-Identifier: MIT
"""What every Python test and benchmark of lbx shares, whatever it tests:
TAP output, an environment of its own for the lbx CLI, a JSON answer read
from a unix socket (the daemons' control sockets), and a small HTTP server
on the host for a box or a daemon to reach."""
import http.server
import json
import os
import socket
import subprocess
import threading


class Tap:
    """TAP lines, counted; result() is the exit status."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok"), self.n, "-", desc, flush=True)
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines()[-40:]:
                    print("#", line, flush=True)
        return cond

    def eq(self, got, want, desc, diag=None):
        ok = self.ok(got == want, desc, diag)
        if not ok:
            print(f"#   got {got!r}, want {want!r}", flush=True)
        return ok

    def skip(self, desc, why):
        self.n += 1
        print("ok", self.n, "-", desc, "# SKIP", why, flush=True)

    def note(self, msg):
        print("#", msg, flush=True)

    def result(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def lbx_env(tmp):
    """os.environ with the XDG directories lbx uses in tmp: run, data, config
    (so boxes, their state and runtime sockets stay the test's own)."""
    env = dict(os.environ)
    for k, d in (("XDG_RUNTIME_DIR", "run"), ("XDG_DATA_HOME", "data"),
                 ("XDG_CONFIG_HOME", "config")):
        env[k] = os.path.join(tmp, d)
        os.makedirs(env[k], mode=0o700)
    return env


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL if it does not go; returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.returncode


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unix_json(path, timeout=20.0):
    """Connect to a unix socket, read until the peer closes, parse it as JSON."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return json.loads(data)


class Hello(http.server.BaseHTTPRequestHandler):
    """GET answers the server's body, or "hello from ADDRESS"."""

    def do_GET(self):
        body = getattr(self.server, "body", None) or \
            f"hello from {self.server.server_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def http_server(addr="127.0.0.1", port=0, body=None):
    """A threaded HTTP server on addr:port (0: any free port), serving in a thread.
    Stop it with shutdown() and server_close()."""
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer((addr, port), Hello)
    srv.body = body
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
