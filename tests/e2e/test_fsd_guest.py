#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-fsd as the guest sees it: QEMU's vhost-user-fs-device wired to our
backend, the real guest kernel's virtio-fs driver, busybox tools in the
guest, and the host checking what landed on disk."""
import hashlib
import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Box, VhostUserFs, main  # noqa: E402

MOUNT = "mkdir -p /mnt/p && mount -t virtiofs share /mnt/p && cd /mnt/p && "


def run(t, tree, script, **fs_kw):
    fs = VhostUserFs(tree, "share", **fs_kw)
    r = Box(devices=[fs], memory_mib=512).run(["sh", "-c", MOUNT + script])
    if r.code is None:
        t.note(r.console[-1500:])
    return r, fs


def test_conformance(t):
    tree = tempfile.mkdtemp(prefix="lbx-fsd-e2e-")
    try:
        with open(os.path.join(tree, "host.txt"), "w") as f:
            f.write("from the host\n")
        secret = tempfile.NamedTemporaryFile(prefix="lbx-secret-", delete=False)
        secret.write(b"TOP-SECRET")
        secret.close()
        os.symlink(secret.name, os.path.join(tree, "escape"))
        script = (
            "cat host.txt; echo guest > g.txt; echo more >> g.txt; "
            "dd if=/dev/urandom of=big bs=1M count=8 2>/dev/null; md5sum big; "
            "mkdir -p d/e; echo x > d/e/f; mv d/e/f d/moved; ln -s moved d/link; "
            "ln d/moved d/hard; stat -c %h d/moved; readlink d/link; "
            "chmod 640 g.txt; mkfifo fifo; truncate -s 1000 trunc; "
            "i=0; while [ $i -lt 1000 ]; do : > many.$i; i=$((i+1)); done; ls | grep -c '^many'; "
            "rm many.5; rmdir d/e; ls d; cat escape 2>&1; echo done")
        r, fs = run(t, tree, script)
        out = r.output.splitlines()
        t.eq(r.code, 0, "the guest's script ran on the virtio-fs mount", r.console[-2000:])
        t.ok(out[:1] == ["from the host"], "the guest reads a host file", out[:3])
        t.ok("2" in out and "moved" in out, "hard link count and readlink", out)
        t.ok("1000" in out, "a directory of 1000 entries lists completely", out)
        t.ok("TOP-SECRET" not in r.output, "a host symlink pointing outside is not followed by "
             "the server: the guest resolves it in its own tree", r.output[-300:])
        with open(os.path.join(tree, "g.txt")) as f:
            t.eq(f.read(), "guest\nmore\n", "write and append reach the host")
        t.eq(stat.S_IMODE(os.stat(os.path.join(tree, "g.txt")).st_mode), 0o640,
             "chmod reaches the host")
        with open(os.path.join(tree, "big"), "rb") as f:
            md5 = hashlib.md5(f.read()).hexdigest()
        t.ok(any(line.startswith(md5) for line in out), "8 MiB written by the guest, byte "
             "for byte on the host (md5)", out)
        t.ok(stat.S_ISFIFO(os.lstat(os.path.join(tree, "fifo")).st_mode), "mkfifo")
        t.eq(os.path.getsize(os.path.join(tree, "trunc")), 1000, "truncate")
        t.eq(os.readlink(os.path.join(tree, "d", "link")), "moved", "symlink")
        t.eq(os.stat(os.path.join(tree, "d", "moved")).st_nlink, 2, "hard link on the host")
        t.ok(not os.path.exists(os.path.join(tree, "many.5")) and
             os.path.exists(os.path.join(tree, "many.6")), "unlink")
        t.eq(sorted(os.listdir(os.path.join(tree, "d"))), ["hard", "link", "moved"],
             "rename and rmdir")
        t.eq(fs.returncode, 0, "lbx-fsd exits 0 when the guest goes away", fs.log_text)
        os.unlink(secret.name)
    finally:
        shutil.rmtree(tree, True)


def test_read_only(t):
    tree = tempfile.mkdtemp(prefix="lbx-fsd-ro-")
    try:
        with open(os.path.join(tree, "keep.txt"), "w") as f:
            f.write("keep\n")
        r, fs = run(t, tree, "cat keep.txt; echo x > new 2>&1; rm keep.txt 2>&1; echo end",
                    read_only=True)
        t.ok("keep" in r.output and "Read-only file system" in r.output,
             "a read-only tree refuses writes with EROFS", r.output)
        t.eq(sorted(os.listdir(tree)), ["keep.txt"], "and the host tree is untouched")
    finally:
        shutil.rmtree(tree, True)


def test_xattr_ownership(t):
    tree = tempfile.mkdtemp(prefix="lbx-fsd-own-")
    try:
        r, fs = run(t, tree, "echo a > owned; chown 1234:5678 owned; chmod 4755 owned; "
                    "ls -ln owned", ownership="xattr")
        line = r.output.strip().splitlines()[-1] if r.output.strip() else ""
        t.ok(" 1234 " in line and " 5678 " in line and line.startswith("-rwsr-xr-x"),
             "chown and setuid are kept for the guest", line)
        st = os.stat(os.path.join(tree, "owned"))
        t.ok(st.st_uid == os.getuid() and not st.st_mode & stat.S_ISUID,
             "while the host file stays the serving user's, without setuid",
             f"uid {st.st_uid} mode {oct(st.st_mode)}")
        xa = os.getxattr(os.path.join(tree, "owned"), "user.containers.override_stat")
        t.ok(xa.startswith(b"1234:5678:"), "ownership lives in user.containers.override_stat",
             xa)
    finally:
        shutil.rmtree(tree, True)


def test_xattr_specials(t):
    """Symlinks, FIFOs and sockets keep the owner and mode the guest gives
    them (in their directory's user.lbx.override_names), and stay what
    they are on disk, as engine light reads the same tree."""
    tree = tempfile.mkdtemp(prefix="lbx-fsd-spec-")
    try:
        r, fs = run(t, tree, "mkfifo -m 0151 fifo; chown 5:6 fifo; ln -s target link; "
                    "chown -h 7:8 link; mkdir -m 1777 tmp; mkfifo tmp/f; chown 9:9 tmp/f; "
                    "mv tmp/f moved; ls -ln fifo link moved", ownership="xattr")
        lines = {ln.split()[-1] if "->" not in ln else ln.split()[-3]: ln
                 for ln in r.output.strip().splitlines() if ln[:1] in "-pl"}
        t.ok(lines.get("fifo", "").startswith("p--xr-x--x") and " 5 " in lines.get("fifo", "")
             and " 6 " in lines.get("fifo", ""), "a FIFO keeps mode 0151 and owner 5:6",
             r.output[-600:])
        t.ok(" 7 " in lines.get("link", "") and " 8 " in lines.get("link", ""),
             "a symlink keeps the owner lchown gave it", r.output[-600:])
        t.ok(" 9 " in lines.get("moved", ""), "a renamed FIFO takes its owner along",
             r.output[-600:])
        st = os.lstat(os.path.join(tree, "fifo"))
        t.ok(stat.S_ISFIFO(st.st_mode) and st.st_uid == os.getuid() and
             stat.S_IMODE(st.st_mode) == 0o151,
             "on disk: still a FIFO, the serving user's, with its permission bits",
             f"mode {oct(st.st_mode)} uid {st.st_uid}")
        t.ok(os.path.islink(os.path.join(tree, "link")), "on disk: still a symlink")
        names = os.getxattr(tree, "user.lbx.override_names")
        t.ok(b"fifo\x005:6:0151\x00" in names and b"moved\x009:9:" in names and
             b"link\x007:8:" in names, "the records are in the directory's xattr", names)
    finally:
        shutil.rmtree(tree, True)


if __name__ == "__main__":
    main([test_conformance, test_read_only, test_xattr_ownership, test_xattr_specials])
