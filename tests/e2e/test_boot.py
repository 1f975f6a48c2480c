#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The foundation e2e test: our kernel and initramfs boot under QEMU TCG,
lbx-agent mounts the basics, runs the command from the kernel command line
and reports its exit status, and the box powers off."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Box, VirtioRng, main  # noqa: E402


def test_success_and_output(t):
    r = Box().run(["sh", "-c", "echo hello-from-guest"])
    t.ok(r.ready_ms is not None, "agent reports ready", r.console)
    t.eq(r.code, 0, "exit status 0 reaches the host", r.console)
    t.ok("hello-from-guest" in r.output, "command output on the console", r.console)
    t.ok(r.powered_off and not r.timed_out, "box powers off by itself", r.console)
    t.eq(r.qemu_rc, 0, "QEMU exits cleanly on the agent's reset")
    t.note(f"agent ready at {r.ready_ms} ms guest time, whole run {r.wall_s:.2f} s wall")


def test_failure_is_seen(t):
    r = Box().run(["sh", "-c", "exit 7"])
    t.eq(r.code, 7, "a failing command's status reaches the host", r.console)
    r = Box().run(["false"])
    t.eq(r.code, 1, "false exits 1", r.console)


def test_signal(t):
    r = Box().run(["sh", "-c", "kill -9 $$"])
    t.eq((r.code, r.signal), (None, 9), "death by signal is reported as a signal", r.console)


def test_missing_command(t):
    r = Box().run(["/no/such/tool", "arg"])
    t.eq(r.code, 127, "missing command exits 127", r.console)
    t.ok("cannot run /no/such/tool" in r.console, "the error names the command", r.console)


def test_agent_refuses_without_pid1(t):
    r = Box().run(["/init"])
    t.eq(r.code, 2, "lbx-agent refuses to run as anything but PID 1", r.console)


def test_box_basics(t):
    script = ("hostname; cat /proc/mounts; ls -l /dev/console; echo FOO=$FOO; pwd; "
              "test -c /dev/ptmx && echo has-ptmx; echo args: \"$0\" \"$1\"")
    r = Box(hostname="box-7").run(["sh", "-c", script, "a b", "c%d"],
                                   env={"FOO": "bar baz"}, cwd="/tmp")
    out = r.output
    t.eq(r.code, 0, "basics script ran", r.console)
    t.ok(out.splitlines()[:1] == ["box-7"], "hostname from lbx.hostname", out)
    for fs, mnt in [("proc", "/proc"), ("sysfs", "/sys"), ("devtmpfs", "/dev"),
                    ("devpts", "/dev/pts"), ("tmpfs", "/run"), ("tmpfs", "/tmp"),
                    ("tmpfs", "/dev/shm")]:
        t.ok(f" {mnt} {fs} " in out, f"{fs} mounted on {mnt}", out)
    t.ok("FOO=bar baz" in out, "environment from lbx.env with spaces", out)
    t.ok("\n/tmp\n" in out, "working directory from lbx.cwd", out)
    t.ok("has-ptmx" in out, "devpts gives /dev/ptmx", out)
    t.ok("args: a b c%d" in out, "arguments with spaces and % arrive intact", out)


def test_smp_and_virtio_mmio(t):
    script = ("grep -c ^processor /proc/cpuinfo; cat /sys/class/misc/hw_random/rng_current; "
              "head -c 16 /dev/hwrng | wc -c")
    r = Box(cpus=2, devices=[VirtioRng()]).run(["sh", "-c", script])
    lines = r.output.split()
    t.eq(r.code, 0, "device script ran", r.console)
    t.ok(lines[:1] == ["2"], "two vCPUs online", r.output)
    t.ok(any(x.startswith("virtio_rng") for x in lines), "virtio-rng bound over virtio-mmio",
         r.output)
    t.ok(lines[-1:] == ["16"], "16 random bytes read from the virtio device", r.output)


def test_kernel_features(t):
    r = Box(quiet=False).run(["true"])
    t.eq(r.code, 0, "verbose boot ran", r.console)
    t.ok("landlock: Up and running." in r.console, "Landlock is an active LSM", r.console)


if __name__ == "__main__":
    main([test_success_and_output, test_failure_is_seen, test_signal, test_missing_command,
          test_agent_refuses_without_pid1, test_box_basics, test_smp_and_virtio_mmio,
          test_kernel_features])
