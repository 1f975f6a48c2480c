#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx installed like a real tool: `meson install --destdir` into a
temporary directory, then a box from the installed copy alone, with the
build tree out of reach (a private mount namespace hides it under an empty
tmpfs): lbx --version, lbx doctor, lbx up / exec / down / rm, its helpers
found in libexec, its data in share, the kernel in the user's cache by its
key. Also: the man page and the bash completion know every command."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env  # noqa: E402

PREFIX = "/usr/local"


def commands(exe):
    """The commands lbx --help lists."""
    out = subprocess.run([exe, "--help"], stdout=subprocess.PIPE, text=True).stdout
    return re.findall(r"^  (\w+) ", out, re.M)


def test_install(t):
    qemu_binary()
    if os.getuid() != 0 or not shutil.which("unshare"):
        raise Skip("hiding the build tree needs root (a private mount namespace)")
    kernel_dir()  # the kernel in root's cache, where the installed lbx must find it
    tmp = tempfile.mkdtemp(prefix="lbx-install-")
    dest = os.path.join(tmp, "dest")
    try:
        r = subprocess.run(["meson", "install", "-C", build_dir(), "--destdir", dest,
                            "--no-rebuild", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if not t.ok(r.returncode == 0, "meson install --destdir", r.stdout):
            return
        root = dest + PREFIX
        exe = os.path.join(root, "bin", "lbx")
        for rel in ("libexec/lbx/lbx-fsd", "libexec/lbx/lbx-vsockd", "libexec/lbx/lbx-netd",
                    "libexec/lbx/lbx-agent", "libexec/lbx/lbx-own-tree",
                    "share/lbx/initramfs.cpio", "share/lbx/debian-base.sh",
                    "share/lbx/build-kernel.sh", "share/lbx/lbx.config",
                    "share/man/man1/lbx.1", "share/bash-completion/completions/lbx",
                    "share/zsh/vendor-completions/_lbx"):
            if not os.path.exists(os.path.join(root, rel)):
                t.ok(False, f"installed {rel}")
                return
        t.ok(True, "lbx in bin, helpers in libexec/lbx, data, man page and completions in share")

        cmds = commands(exe)
        t.ok(len(cmds) >= 10 and "doctor" in cmds, "lbx --help lists the commands", cmds)
        man = subprocess.run(["man", "-l", os.path.join(root, "share/man/man1/lbx.1")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=dict(os.environ, MANWIDTH="200")).stdout
        missing = [c for c in cmds if not re.search(rf"^\s+lbx {c}\b", man, re.M)]
        t.ok(man and not missing, "lbx(1) describes every command", f"missing: {missing}")
        comp = os.path.join(root, "share/bash-completion/completions/lbx")
        r = subprocess.run(["bash", "-c", f". '{comp}'; COMP_WORDS=(lbx ''); COMP_CWORD=1; _lbx;"
                            " echo ${COMPREPLY[*]}"], stdout=subprocess.PIPE, text=True)
        t.eq(sorted(set(r.stdout.split()) - {"--help", "--version"}), sorted(cmds),
             "the bash completion offers exactly lbx's commands")

        # From here on, only the installed copy: the build tree is an empty tmpfs.
        env = lbx_env(tmp)
        env.pop("LBX_KERNEL_DIR", None)
        env.pop("LBX_LIBEXEC_DIR", None)
        env["LBX_TEST_EXE"] = exe
        project = os.path.join(tmp, "proj")
        os.makedirs(project)
        with open(os.path.join(project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox"}')
        script = r"""
set -u
mount -t tmpfs -o ro none "$1" || exit 90
[ -e "$1/lbx/lbx" ] && exit 91
L=$LBX_TEST_EXE
echo "@version $($L --version)"
$L doctor --json > doctor.json; echo "@doctor $?"
$L up 2> up.err; echo "@up $?"
echo "@exec $($L exec proj -- sh -c 'echo in-box; cat /proc/cmdline' | head -n 1)"
$L status proj --json > status.json
for p in $(grep -o '"pid": *[0-9]*' status.json | grep -o '[0-9]*$'); do readlink /proc/$p/exe; done > exes.txt
$L down proj 2> down.err; echo "@down $?"
$L rm proj 2> rm.err; echo "@rm $?"
"""
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                            "sh", build_dir()], cwd=project, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600)
        out = dict(line[1:].split(" ", 1) for line in r.stdout.splitlines()
                   if line.startswith("@") and " " in line)
        if not t.ok(r.returncode not in (90, 91), "the build tree is out of reach", r.stdout):
            return
        t.eq(out.get("version", "").split()[0:1], ["lbx"], "lbx --version", r.stdout)

        def read(name):
            try:
                with open(os.path.join(project, name)) as f:
                    return f.read()
            except OSError:
                return ""
        try:
            doc = json.loads(read("doctor.json"))
            checks = {c["name"]: c for c in doc["checks"]}
        except (ValueError, KeyError):
            checks = {}
        inst = checks.get("install", {})
        t.ok(inst.get("ok") and "installed" in inst.get("detail", "") and dest in inst["detail"],
             "lbx doctor --json: runs from the installed prefix", read("doctor.json")[-1500:])
        t.ok({"kvm", "landlock", "podman", "subids", "tun", "kernel"} <= set(checks) and
             all(c["ok"] or c["fix"] for c in checks.values()),
             "lbx doctor: every check there, each problem with its fix", read("doctor.json"))
        t.ok(out.get("up") == "0", "lbx up from the installed copy", read("up.err"))
        t.eq(out.get("exec"), "in-box", "lbx exec from the installed copy", r.stdout)
        exes = read("exes.txt").split()
        ours = [x for x in exes if os.path.basename(x).startswith("lbx-")]
        t.ok(len(ours) >= 3 and all(x.startswith(root + "/libexec/lbx/") for x in ours),
             "the box's helpers ran from the installed libexec/lbx, not the build tree",
             "\n".join(exes) + read("status.json")[-800:])
        t.ok(out.get("down") == "0" and out.get("rm") == "0", "lbx down and rm",
             read("down.err") + read("rm.err"))
    finally:
        subprocess.run([os.path.join(dest + PREFIX, "bin", "lbx"), "down", "proj"],
                       env=dict(os.environ, **{k: os.path.join(tmp, v) for k, v in (
                           ("XDG_RUNTIME_DIR", "run"), ("XDG_DATA_HOME", "data"),
                           ("XDG_CONFIG_HOME", "config"))}),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_install])
