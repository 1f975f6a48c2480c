#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print one line "N passed, N failed[, N skipped]" over meson test logs.

Each test that speaks TAP counts per check ("ok", "not ok", "# SKIP");
a test that does not, or that failed outside its checks (crash, timeout,
missing plan), counts as one. Usage: summary.py BUILDDIR... [--missing NAME]...
A --missing NAME is a layer that never produced a log (its build failed):
it counts as one failure.
"""
import json
import os
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b.*)?$", re.I)
PLAN_SKIP = re.compile(r"^1\.\.0\s*#\s*SKIP", re.I)


def count(stdout, result):
    p = f = s = 0
    for line in (stdout or "").splitlines():
        if PLAN_SKIP.match(line):
            s += 1
            continue
        m = TAP.match(line)
        if not m:
            continue
        if m.group(3) and m.group(3).upper() == "SKIP":
            s += 1
        elif m.group(1) == "ok":
            p += 1
        else:
            f += 1
    if p + f + s == 0:
        if result == "SKIP":
            return 0, 0, 1
        return (1, 0, 0) if result in ("OK", "EXPECTEDFAIL") else (0, 1, 0)
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
        f += 1
    return p, f, s


def main(argv):
    passed = failed = skipped = 0
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--missing":
            name = args.pop(0)
            print(f"summary: {name}: no test log (its build or set-up failed)", file=sys.stderr)
            failed += 1
            continue
        log = os.path.join(a, "meson-logs", "testlog.json")
        if not os.path.exists(log):
            print(f"summary: {a}: no test log", file=sys.stderr)
            failed += 1
            continue
        with open(log) as fh:
            for line in fh:
                t = json.loads(line)
                p, f, s = count(t.get("stdout"), t.get("result"))
                passed, failed, skipped = passed + p, failed + f, skipped + s
                if f:
                    print(f"summary: FAILED {os.path.basename(a)}: {t['name']}", file=sys.stderr)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
