#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot what `lbx up` boots: the engine and backend command lines come from
`lbx engine-argv`, the same manifest and argv builders as the supervisor's
(lbx/manifest.c), so this boot checks the command line users run, not one
the harness made up. Engine qemu (TCG), the busybox image."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import PlannedBox, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env  # noqa: E402


def test_planned_boot(t):
    qemu_binary()
    tmp = tempfile.mkdtemp(prefix="lbx-plan-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    project = os.path.join(tmp, "plan")
    os.makedirs(project)
    with open(os.path.join(project, "lbx.json"), "w") as f:
        f.write('{"image": "busybox", "network": {"mode": "none"}}')
    with open(os.path.join(project, "from-host.txt"), "w") as f:
        f.write("host\n")
    exe = os.path.join(build_dir(), "lbx", "lbx")
    box = None
    try:
        box = PlannedBox(exe, env, project)
        plan = box.plan
        t.ok(plan["argv"][0] == "qemu-system-x86_64" and "-append" in plan["argv"],
             "engine-argv gives QEMU's command line", plan["argv"][:3])
        roles = sorted(b["role"] for b in plan["backends"])
        t.eq(roles, ["lbx-fsd (project)", "lbx-fsd (root)", "lbx-vsockd"],
             "and the backends the manifest lists (no network: mode none)")
        cl = plan["argv"][plan["argv"].index("-append") + 1]
        t.ok("lbx.serve=vsock:1024" in cl and "lbx.rootfs=root" in cl and "lbx.net=" not in cl,
             "the agent's parameters are on the kernel command line", cl)
        t.ok(box.start(), "that command line boots to the agent's READY", box.console()[-2000:])
        r = subprocess.run([exe, "exec", "plan", "--", "sh", "-c",
                            "cat from-host.txt; echo guest > from-guest.txt; exit 3"],
                           cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        t.ok(r.returncode == 3 and r.stdout == b"host\n", "lbx exec reaches it: project files, "
             "exit status", (r.returncode, r.stdout, r.stderr))
        path = os.path.join(project, "from-guest.txt")
        t.ok(os.path.exists(path) and open(path).read() == "guest\n",
             "a file written in the box is on the host")
    finally:
        if box:
            box.stop()
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_planned_boot])
