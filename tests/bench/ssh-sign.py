#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signature latency through lbx-ssh-proxy vs directly against ssh-agent.

    python3 tests/bench/ssh-sign.py [BUILDDIR]     (default: build)

For each key type, the median of N SIGN_REQUESTs (SSHSIG, namespace git;
LBX_BENCH_SIGNS, default 1000) sent one at a time on one connection, to
ssh-agent and to the proxy in front of it, measured alternately in the
same run; prints the median of the per-round ratios (goal: under 1.2x). A benchmark: it never
fails on time.
"""
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
PROXY = os.path.join(BUILD, "vsock-ssh", "lbx-ssh-proxy")
CLIENT = os.path.join(BUILD, "vsock-ssh", "ssh-sign-bench")
N = int(os.environ.get("LBX_BENCH_SIGNS", "1000"))
ROUNDS = int(os.environ.get("LBX_BENCH_ROUNDS", "5"))


def wait_for(path):
    for _ in range(500):
        if os.path.exists(path):
            return
        time.sleep(0.01)
    raise RuntimeError("no socket at " + path)


def median_us(sock, blob):
    out = subprocess.run([CLIENT, sock, blob, str(N)], capture_output=True, text=True,
                         check=True).stdout
    return float(out.split()[0].split("=")[1])


def main():
    for exe in (PROXY, CLIENT):
        if not os.path.exists(exe):
            print("build first: %s is missing" % exe)
            return 1
    d = tempfile.mkdtemp(prefix="lbx-ssh-bench-")
    procs = []
    try:
        agent_sock = os.path.join(d, "agent.sock")
        procs.append(subprocess.Popen(["ssh-agent", "-D", "-a", agent_sock],
                                      stdout=subprocess.DEVNULL))
        wait_for(agent_sock)
        blobs, rules = {}, []
        for kind in ("ed25519", "ecdsa", "rsa"):
            key = os.path.join(d, "id_" + kind)
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", key], check=True)
            subprocess.run(["ssh-add", "-q", key], env=dict(os.environ, SSH_AUTH_SOCK=agent_sock),
                           check=True)
            with open(key + ".pub") as f:
                raw = base64.b64decode(f.read().split()[1])
            blobs[kind] = os.path.join(d, kind + ".blob")
            with open(blobs[kind], "wb") as f:
                f.write(raw)
            fp = subprocess.run(["ssh-keygen", "-lf", key + ".pub"], capture_output=True,
                                text=True, check=True).stdout.split()[1]
            rules.append({"key": fp, "namespaces": ["git"]})
        policy = os.path.join(d, "policy.json")
        with open(policy, "w") as f:
            json.dump({"keys": rules}, f)
        proxy_sock = os.path.join(d, "proxy.sock")
        procs.append(subprocess.Popen([PROXY, "--listen", proxy_sock, "--upstream", agent_sock,
                                       "--policy", policy, "--known-hosts", "/dev/null"],
                                      stderr=subprocess.DEVNULL))
        wait_for(proxy_sock)
        print("SIGN_REQUEST latency, median of %d, %d alternating rounds" % (N, ROUNDS))
        print("%-8s %12s %12s %8s" % ("key", "agent us", "proxy us", "ratio"))
        for kind, blob in blobs.items():
            direct, proxied, ratios = [], [], []
            for i in range(ROUNDS):
                # Alternate the order so drift in machine speed hits both alike.
                pair = [(agent_sock, direct), (proxy_sock, proxied)]
                for sock, out in (pair if i % 2 == 0 else pair[::-1]):
                    out.append(median_us(sock, blob))
                ratios.append(proxied[-1] / direct[-1])
            print("%-8s %12.1f %12.1f %7.2fx" % (kind, statistics.median(direct),
                                                  statistics.median(proxied),
                                                  statistics.median(ratios)))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
