#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""KVM probe tests for lbx-vmm (TAP).

    run-probes.py LBX_VMM PROBE_ELF

Boots the probe guest with lbx-vmm on /dev/kvm, once per boot protocol,
and compares what the guest read back (printed on COM1) with what lbx-vmm
says it wrote (--dump-boot-info). Also: the virtio-mmio walk with
virtio-rng and virtio-console round trips, i8042 reset, triple fault,
poweroff by halting every CPU with interrupts off (and idle is not that), the
one-line errors for unusable kernels and bad arguments, and virtio-blk
through the vhost-user frontend against qemu-storage-daemon (a backend we
did not write), including that backend dying.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

vmm, probe = sys.argv[1], sys.argv[2]
count = 0
failed = 0


def ok(cond, what, detail=""):
    global count, failed
    count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (count, what))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[-30:]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def skip(what, why):
    global count
    count += 1
    print("ok %d - %s # SKIP %s" % (count, what, why))


def run(args, stdin_data=None, timeout=120):
    try:
        p = subprocess.run([vmm] + args, input=stdin_data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return -1, (e.stdout or b"").decode(errors="replace"), "timed out after %ds" % timeout
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def kv_lines(text):
    """Lines of 'key value...' as a list of (key, rest)."""
    out = []
    for line in text.splitlines():
        key, _, rest = line.strip().partition(" ")
        out.append((key, rest))
    return out


def first(lines, key):
    for k, v in lines:
        if k == key:
            return v
    return None


def all_of(lines, key):
    return [v for k, v in lines if k == key]


def sum_bytes(data):
    s = 0
    for b in data:
        s = (s * 31 + b) & 0xFFFFFFFF
    return s


def check_bootinfo(protocol, cpus, tmp):
    initrd = os.path.join(tmp, "initrd-%s" % protocol)
    data = bytes((i * 7 + 3) & 0xFF for i in range(12345))
    with open(initrd, "wb") as f:
        f.write(data)
    dump = os.path.join(tmp, "dump-%s" % protocol)
    cmdline = "lbx.probe=bootinfo console=ttyS0 quiet"
    rc, out, err = run(["--kernel", probe, "--initrd", initrd, "--cmdline", cmdline,
                        "--mem", "96", "--cpus", str(cpus), "--boot", protocol,
                        "--dump-boot-info", dump])
    tag = "%s, %d vCPUs" % (protocol, cpus)
    if not ok(rc == 0 and "bootinfo done" in out, "%s: probe ran and reset the machine" % tag,
              out + err):
        return
    with open(dump) as f:
        want = kv_lines(f.read())
    got = kv_lines(out)
    for key in ("protocol", "entry", "boot_info", "cmdline_addr", "cmdline", "initrd",
                "e820_entries"):
        ok(first(got, key) == first(want, key) and first(want, key) is not None,
           "%s: guest reads %s as lbx-vmm wrote it" % (tag, key),
           "guest %r, lbx-vmm %r" % (first(got, key), first(want, key)))
    ok(all_of(got, "e820") == all_of(want, "e820") and len(all_of(want, "e820")) >= 3,
       "%s: guest reads the same e820 map" % tag,
       "guest %r\nlbx-vmm %r" % (all_of(got, "e820"), all_of(want, "e820")))
    ok(first(got, "mptable") == first(want, "mptable") and first(got, "mptable") is not None and
       first(got, "mptable").endswith("cpus %d" % cpus),
       "%s: guest finds the MP table with valid checksums and %d processors" % (tag, cpus),
       "guest %r, lbx-vmm %r" % (first(got, "mptable"), first(want, "mptable")))
    ok(first(got, "mptable_bsp") == "1", "%s: exactly one bootstrap processor" % tag)
    ok(first(got, "initrd_sum") == "0x%x" % sum_bytes(data),
       "%s: initrd bytes in guest memory match the file" % tag,
       "guest %r, file 0x%x" % (first(got, "initrd_sum"), sum_bytes(data)))
    want_initrd = first(want, "initrd").split()
    ok(int(want_initrd[0], 16) % 4096 == 0, "%s: initrd is page aligned" % tag)
    if protocol == "pvh":
        ok(first(got, "pvh_magic") == "0x336ec578" and first(got, "pvh_version") == "1",
           "%s: hvm_start_info magic and version" % tag)
    else:
        ok(first(got, "boot_flag") == "0xaa55" and first(got, "header") == "0x53726448",
           "%s: zero page boot_flag and HdrS magic" % tag)
        ok(first(got, "type_of_loader") == "0xff", "%s: type_of_loader 0xff" % tag)
        ok(first(got, "cs") == "0x10" and first(got, "ds") == "0x18" and first(got, "ss") == "0x18",
           "%s: entered with __BOOT_CS 0x10 and __BOOT_DS 0x18" % tag,
           "cs %r ds %r" % (first(got, "cs"), first(got, "ds")))
    ok(first(got, "if") == "0" and first(got, "cr0_pg") == "1" and first(got, "cr4_pae") == "1",
       "%s: interrupts off, long mode paging on" % tag)
    ok(first(got, "cpuid_hypervisor") == "1" and first(got, "cpuid_apic_id") == "0" and
       first(got, "cpuid_signature") == "KVMKVMKVM",
       "%s: CPUID hypervisor bit, APIC ID 0, KVM signature" % tag, out)


def check_virtio(protocol):
    rc, out, err = run(["--kernel", probe, "--cmdline", "lbx.probe=virtio", "--mem", "64",
                        "--rng", "--virtio-console", "--boot", protocol],
                       stdin_data=b"ping-from-host\n")
    tag = "virtio (%s)" % protocol
    ok(rc == 0 and "virtio done" in out, "%s: probe walked the devices and reset" % tag, out + err)
    got = kv_lines(out)
    ok(all_of(got, "device") == ["0xd0000000", "0xd0001000"],
       "%s: devices found from the appended cmdline entries" % tag, out)
    ok(all_of(got, "magic") == ["0x74726976"] * 2 and all_of(got, "version") == ["2"] * 2,
       "%s: magic 'virt' and version 2" % tag)
    ok(all_of(got, "id") == ["4", "3"], "%s: device ids rng=4, console=3" % tag)
    ok(all_of(got, "features_hi") == ["0x1"] * 2, "%s: VIRTIO_F_VERSION_1 offered" % tag)
    ok(all_of(got, "queue7_max") == ["0"] * 2, "%s: QueueNumMax 0 for a missing queue" % tag)
    ok(first(got, "rng_bytes") == "64" and first(got, "rng_distinct_nonzero") == "1",
       "%s: virtio-rng filled a 64-byte buffer with random bytes" % tag, out)
    ok(first(got, "rng_isr") == "1", "%s: InterruptStatus shows a used buffer" % tag)
    ok("probe-to-host over virtio-console\n" in out and first(got, "console_tx") == "1",
       "%s: virtio-console transmit reached the host console" % tag)
    ok(first(got, "console_rx") == "ping-from-host",
       "%s: host input reached the guest over virtio-console" % tag, out)


def check_ends():
    rc, out, err = run(["--kernel", probe, "--cmdline", "lbx.probe=reset", "--mem", "32"])
    ok(rc == 0 and "probe: reset" in out and "i8042" in err,
       "i8042 reset (0xfe to port 0x64) ends the VM, exit 0", out + err)
    rc, out, err = run(["--kernel", probe, "--cmdline", "lbx.probe=triple", "--mem", "32"])
    ok(rc == 0 and "triple fault" in err, "a triple fault ends the VM, exit 0", out + err)


def check_halt_watch():
    """A guest that halts every CPU with interrupts off has powered off; an
    idle one (halted, interrupts on) keeps running until it is stopped."""
    for cpus in (1, 2):
        rc, out, err = run(["--kernel", probe, "--cmdline", "lbx.probe=halt", "--mem", "32",
                            "--cpus", str(cpus)], timeout=60)
        ok(rc == 0 and "probe: halting" in out and "powered off" in err,
           "cli; hlt on the boot CPU (%d vCPUs) ends the VM as a poweroff, exit 0" % cpus,
           "exit %d\n%s%s" % (rc, out, err))

    env = dict(os.environ, LBX_LOG="debug")
    vm = subprocess.Popen([vmm, "--kernel", probe, "--cmdline", "lbx.probe=idle", "--mem", "32"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen = []
    for line in vm.stderr:
        seen.append(line.decode(errors="replace"))
        if "halt watch: every vCPU idle" in seen[-1] or "stopped" in seen[-1]:
            break
    ok(any("halt watch: every vCPU idle" in l for l in seen),
       "sti; hlt is seen as idle by the halt watch", "".join(seen))
    vm.terminate()
    try:
        out, err = vm.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        vm.kill()
        out, err = vm.communicate()
    err = "".join(seen) + err.decode(errors="replace")
    ok(vm.returncode == 128 + 15 and "stopped by signal 15" in err and "powered off" not in err,
       "an idle guest keeps running until SIGTERM (exit 143)", "exit %d\n%s" % (vm.returncode, err))


def check_errors(tmp):
    junk = os.path.join(tmp, "not-a-kernel")
    with open(junk, "wb") as f:
        f.write(b"#!/bin/sh\necho this is not a kernel\n" * 40)
    rc, out, err = run(["--kernel", junk, "--mem", "32"])
    ok(rc != 0 and len(err.strip().splitlines()) == 1 and "not-a-kernel" in err,
       "an unusable kernel file gives one line naming it and a non-zero exit", err)
    rc, out, err = run(["--kernel", probe, "--mem", "lots"])
    ok(rc != 0 and len(err.strip().splitlines()) == 1 and "--mem" in err,
       "a bad --mem gives one line naming the option", err)
    rc, out, err = run(["--kernel", probe, "--mem", "8", "--initrd", "/nonexistent/initrd"])
    ok(rc != 0 and len(err.strip().splitlines()) == 1, "a too-small --mem is refused", err)
    big = os.path.join(tmp, "big-initrd")
    with open(big, "wb") as f:
        f.truncate(40 << 20)
    rc, out, err = run(["--kernel", probe, "--mem", "32", "--initrd", big])
    ok(rc != 0 and len(err.strip().splitlines()) == 1 and "does not fit" in err,
       "an initrd larger than RAM is refused with one line", err)


def start_storage_daemon(tmp, image):
    sock = os.path.join(tmp, "blk.sock")
    qsd = subprocess.Popen(
        ["qemu-storage-daemon", "--blockdev",
         "driver=file,filename=%s,node-name=disk" % image, "--export",
         "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=%s,writable=on" % sock],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        if os.path.exists(sock) or qsd.poll() is not None:
            break
        time.sleep(0.025)
    return qsd, sock


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_vhost_user_blk(tmp):
    """A backend we did not write: qemu-storage-daemon's vhost-user-blk export."""
    what = ["vhost-user-blk: probe reads the sector the test wrote",
            "vhost-user-blk: capacity from the backend's config space",
            "vhost-user-blk: probe's write reaches the image",
            "vhost-user-blk: a dying backend ends the VM with a message naming it"]
    if not shutil.which("qemu-storage-daemon"):
        for w in what:
            skip(w, "qemu-storage-daemon not installed (Debian qemu-system-common)")
        return
    image = os.path.join(tmp, "disk.img")
    with open(image, "wb") as f:
        f.truncate(4 << 20)
        f.seek(3 * 512)
        f.write(b"sector three says hello")
    qsd, sock = start_storage_daemon(tmp, image)
    try:
        rc, out, err = run(["--kernel", probe, "--cmdline", "lbx.probe=blk", "--mem", "64",
                            "--vhost-user", "blk," + sock])
    finally:
        stop(qsd)
    got = kv_lines(out)
    ok(rc == 0 and first(got, "blk_read_status") == "0" and
       first(got, "blk_sector3") == "sector three says hello", what[0], out + err)
    ok(first(got, "blk_capacity") == str((4 << 20) // 512), what[1], out)
    with open(image, "rb") as f:
        f.seek(5 * 512)
        written = f.read(26)
    ok(first(got, "blk_write_status") == "0" and written == b"written by the probe guest",
       what[2], "image has %r" % written)

    qsd, sock = start_storage_daemon(tmp, image)
    vm = subprocess.Popen([vmm, "--kernel", probe, "--cmdline", "lbx.probe=spin", "--mem", "64",
                           "--vhost-user", "blk," + sock],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    stop(qsd)
    try:
        out, err = vm.communicate(timeout=30)
        rc = vm.returncode
    except subprocess.TimeoutExpired:
        stop(vm)
        out, err, rc = b"", b"lbx-vmm kept running", -1
    err = err.decode(errors="replace")
    ok(rc not in (0, -1) and sock in err and "vhost-user blk" in err, what[3],
       "exit %d: %s" % (rc, err))


def main():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        print("1..0 # SKIP /dev/kvm cannot be opened: %s" % e.strerror)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        check_bootinfo("linux64", 1, tmp)
        check_bootinfo("pvh", 2, tmp)
        check_bootinfo("linux64", 4, tmp)
        check_virtio("linux64")
        check_virtio("pvh")
        check_ends()
        check_halt_watch()
        check_errors(tmp)
        check_vhost_user_blk(tmp)
    print("1..%d" % count)
    return 1 if failed else 0


sys.exit(main())
