#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The GPU box in the nested layer: QEMU 7.2's vhost-user-gpu needs KVM,
which this host's KVM cannot give a Linux guest, so tests/e2e/test_gpu.py
(a box with "gpu": true on engine qemu, lbx-gpud on llvmpipe) runs inside
L1 (Debian's kernel with kvm_amd under QEMU TCG with SVM, l1.py), where
engine qemu runs -accel kvm. Its TAP lines are this test's; they include
the Wayland proxy's GPU path (test_gpu_wayland_box: weston headless in
L1, gpu-draw -W and weston-simple-egl in the box, the screenshot on L1's
side), on both engines. Skips, with
the reason, where QEMU offers no SVM or kvm_amd does not load in L1."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import l1  # noqa: E402
from test_nested import Relay, job_script, run_twice_if_failed  # noqa: E402
from testlib import Tap  # noqa: E402


def main():
    t = Tap()
    what = "a gpu box on engine qemu with KVM, in L1"
    try:
        test = os.path.join(os.path.dirname(HERE), "e2e", "test_gpu.py")
        # engine qemu (QEMU's vhost-user-gpu), then engine vm (lbx-vmm's vmm/vhost_gpu.c)
        # Both engines run the Wayland GPU path (test_gpu_wayland_box) too.
        script = job_script(test) + "s=$?\nLBX_GPU_ENGINE=vm " + \
            job_script(test).split("\n")[1] + \
            "\nv=$?\n[ $s = 0 ] && [ $v = 0 ]\n"
        relay = Relay(t)
        # As in test_nested.py: a first run of L1 that did not pass is run once
        # more, what it printed kept as notes (L1's kernel under TCG stalls now and
        # then); a failure that is ours fails both.
        r = run_twice_if_failed(script, 900, relay)
    except l1.Skip as e:
        t.skip(what, str(e))
        return t.result()
    why = l1.skip_reason(r)
    if why:
        t.skip(what, why)
        return t.result()
    keep = os.path.join(l1.build_dir(), "tests", "nested")
    os.makedirs(keep, exist_ok=True)
    with open(os.path.join(keep, "l1-gpu-console.txt"), "w") as f:
        f.write(r.console)
    t.ok(not r.timed_out, "L1 ran to its end", "\n".join(r.lines()[-40:]))
    t.ok("nested: job exit 0" in r.console, "the gpu box's test in L1 passed",
         "\n".join(r.lines()[-40:]))
    t.note(f"nested figure: L1 and the gpu box together {r.wall_s:.1f} s wall")
    return t.result()


if __name__ == "__main__":
    sys.exit(main())
