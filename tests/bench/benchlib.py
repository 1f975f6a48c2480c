# SPDX-License-Identifier: MIT
"""What the lbx benchmarks share: where things are, how podman is run here
(TESTING.md: runc, explicit ulimits), timing one command, and timing an
lbx box's starts and execs with private XDG directories."""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # testlib, for the benchmarks
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
RUNS = int(os.environ.get("LBX_BENCH_RUNS", "5"))
EXECS_PER_RUN = 4
PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def timed(cmd, **kw):
    """Milliseconds the command took; an error if it failed."""
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {r.stderr.decode()[-500:]}")
    return (time.monotonic() - t0) * 1000


def lbx_cycles(proj, env, name, up_args=()):
    """RUNS times: `lbx up` (timed to ready), EXECS_PER_RUN timed `lbx exec
    NAME -- true`, `lbx down`. Returns the medians (up, exec) in ms."""
    lbx = [os.path.join(BUILD, "lbx", "lbx")]
    ups, execs = [], []
    try:
        for _ in range(RUNS):
            ups.append(timed(lbx + ["up"] + list(up_args), cwd=proj, env=env))
            for _ in range(EXECS_PER_RUN):
                execs.append(timed(lbx + ["exec", name, "--", "true"], cwd=proj, env=env))
            timed(lbx + ["down", name], cwd=proj, env=env)
    finally:
        subprocess.run(lbx + ["down", name], cwd=proj, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return statistics.median(ups), statistics.median(execs)
