#!/bin/sh
# `make run`: start the box of the current directory and open a shell in it.
# The box keeps running after the shell exits; `lbx down NAME` stops it.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
lbx=$root/$build/lbx/lbx
# What this host lacks for a box, one line each with the fix. Not fatal:
# lbx up falls back to what works (engine qemu without KVM), or stops with
# its own line naming the fix.
"$lbx" doctor --quiet >&2 || true
json=$("$lbx" up --json) || exit 1
name=$(printf '%s\n' "$json" | sed -n 's/.*"name": "\([^"]*\)".*/\1/p')
if command -v lbx >/dev/null 2>&1; then
	hint="'lbx down $name' stops it"
else
	hint="'make run' enters it again, 'sudo make install' puts lbx on your PATH"
fi
echo "lbx: box $name is up; leave the shell with 'exit' (the box keeps running: $hint)" >&2
exec "$lbx" enter "$name"
