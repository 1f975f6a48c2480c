#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The guest half of the SSH agent: lbx-agent offers SSH_AUTH_SOCK in the
box and relays each connection over vsock to lbx-ssh-proxy on the host,
which filters what the host's ssh-agent gives. Real ssh-add in the guest,
real ssh-agent on the host; no key material enters the guest."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import (Box, VhostUserVsock, binaries_overlay, build_dir,  # noqa: E402
                     host_ssh_agent, main, stop_process, wait_for_path)

SSH_PORT = 1026


def test_ssh_agent_in_guest(t):
    with tempfile.TemporaryDirectory(prefix="lbx-ssh-") as tmp:
        agent, agent_sock, keys = host_ssh_agent(tmp, {"ed25519": "ed25519", "rsa": "rsa"})
        vs = VhostUserVsock()
        policy = os.path.join(tmp, "policy.json")
        with open(policy, "w") as f:
            f.write('{"keys": [{"key": "%s", "namespaces": ["git"]}]}' % keys["ed25519"])
        box = Box(devices=[vs], overlays=[binaries_overlay(["ssh-add"])])
        proxy = None
        try:
            with box.start(extra=[f"lbx.ssh={SSH_PORT}"]) as rb:
                proxy_exe = os.path.join(build_dir(), "vsock-ssh", "lbx-ssh-proxy")
                listen = f"{vs.uds}_{SSH_PORT}"
                proxy = subprocess.Popen([proxy_exe, "--listen", listen, "--upstream", agent_sock,
                                          "--policy", policy, "--box", "ssh-test",
                                          "--audit-log", os.path.join(tmp, "audit.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for_path(listen, proxy, "lbx-ssh-proxy")
                if not t.ok(rb.wait_ready(), "box with an SSH agent is up", rb.text()):
                    return
                uds = ["exec", "--vsock-uds", vs.uds, "--"]
                r = rb.lbx(uds + ["sh", "-c", "echo $SSH_AUTH_SOCK; ls -l $SSH_AUTH_SOCK"])
                t.ok(r.stdout.startswith(b"/run/lbx/ssh-agent.sock\nsrw-------"),
                     "sessions get SSH_AUTH_SOCK, a socket only the box user may use", r.stdout)
                r = rb.lbx(uds + ["ssh-add", "-l"])
                out = r.stdout.decode()
                t.ok(r.returncode == 0 and keys["ed25519"] in out,
                     "ssh-add -l in the guest lists the given key", out + r.stderr.decode())
                t.ok(keys["rsa"] not in out, "and not the key the box was not given", out)
                r = rb.lbx(uds + ["ssh-add", "-D"])
                t.ok(r.returncode != 0, "ssh-add -D in the guest is refused")
                up = subprocess.run(["ssh-add", "-l"], env={"SSH_AUTH_SOCK": agent_sock},
                                    stdout=subprocess.PIPE, text=True).stdout
                t.eq(len(up.strip().splitlines()), 2, "the host agent still holds both keys")
                r = rb.lbx(uds + ["sh", "-c", "grep -rl \"PRIVATE KEY\" /etc /home /root /run /tmp 2>/dev/null | head -1"])
                t.eq(r.stdout, b"", "no private key material anywhere in the guest")
                with open(os.path.join(tmp, "audit.log")) as f:
                    audit = f.read()
                t.ok(re.search(r'"ssh-test"', audit) is not None,
                     "the proxy audited the box's requests", audit[-500:])
        finally:
            if proxy:
                proxy.terminate()
                proxy.wait()
            stop_process(agent)


if __name__ == "__main__":
    main([test_ssh_agent_in_guest])
