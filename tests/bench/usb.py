#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""USB passthrough throughput: bulk round trips per second and MB/s through
lbx-usbipd's simulated vendor-bulk device, from the guest (usb-bulk-echo
on libusb, through vhci-hcd, vsock and lbx-vsockd, under QEMU TCG here)
and from the host (the same program's --usbip transport, straight to
lbx-usbipd's socket), in one run.

    python3 tests/bench/usb.py [BUILDDIR]     (default: build)

LBX_BENCH_USB_COUNT sets the round trips per size (default 500). A
benchmark: it prints ratios and never fails on time.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ.setdefault("LBX_BUILD_DIR", BUILD)
from lbxtest import Box, VhostUserVsock, binaries_overlay, stop_process, wait_for_path  # noqa: E402

USBIPD = os.path.join(BUILD, "passthrough", "lbx-usbipd")
ECHO = os.path.join(BUILD, "passthrough", "usb-bulk-echo")
COUNT = int(os.environ.get("LBX_BENCH_USB_COUNT", "500"))
SIZES = (64, 512, 16384)
PORT = 1100


def server(tmp, name):
    rules = os.path.join(tmp, "rules.json")
    with open(rules, "w") as f:
        json.dump([{"id": "1209:0002"}], f)
    sock = os.path.join(tmp, name)
    p = subprocess.Popen([USBIPD, "--listen", sock, "--sim", "vendor-bulk", "--rules", rules],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_path(sock, p, "lbx-usbipd")
    return p, sock


def parse(out):
    m = re.search(r"([\d.]+) round trips/s, ([\d.]+) MB/s", out)
    return (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)


def main():
    if not os.path.exists(ECHO):
        print("usb-bulk-echo is not built (libusb-1.0-0-dev): nothing to measure")
        return 0
    with tempfile.TemporaryDirectory(prefix="lbx-bench-usb-") as tmp:
        host_srv, host_sock = server(tmp, "host.sock")
        vs = VhostUserVsock()
        box = Box(devices=[vs], overlays=[binaries_overlay([ECHO])])
        guest_srv = None
        try:
            with box.start(extra=[f"lbx.usb=vsock:{PORT}"]) as rb:
                if not rb.wait_ready():
                    print("the box did not start:\n" + rb.text()[-2000:])
                    return 1
                guest_srv, _ = server(os.path.dirname(vs.uds),
                                      os.path.basename(vs.uds) + f"_{PORT}")
                wait = ("for i in $(seq 200); do grep -q 1209 /sys/bus/usb/devices/*/idVendor "
                        "2>/dev/null && break; sleep 0.1; done; ")
                print(f"{'size':>6} {'guest rt/s':>11} {'host rt/s':>10} {'ratio':>6} "
                      f"{'guest MB/s':>11} {'host MB/s':>10}")
                for size in SIZES:
                    r = rb.lbx(["exec", "--vsock-uds", vs.uds, "--", "sh", "-c",
                                wait + f"{ECHO} 1209:0002 {COUNT} {size}"], timeout=600)
                    g = parse(r.stdout.decode(errors="replace"))
                    h = parse(subprocess.run([ECHO, "--usbip", host_sock, str(COUNT), str(size)],
                                             capture_output=True, text=True).stdout)
                    ratio = h[0] / g[0] if g[0] else float("inf")
                    print(f"{size:>6} {g[0]:>11.0f} {h[0]:>10.0f} {ratio:>5.1f}x "
                          f"{g[1]:>11.2f} {h[1]:>10.2f}")
                    wait = ""
        finally:
            if guest_srv:
                stop_process(guest_srv)
            stop_process(host_srv)
    print("guest: QEMU TCG (no KVM here), libusb -> vhci-hcd -> vsock -> lbx-vsockd -> "
          "lbx-usbipd; host: the same client over USB/IP on a unix socket")
    return 0


if __name__ == "__main__":
    sys.exit(main())
