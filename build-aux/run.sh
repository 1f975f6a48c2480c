#!/bin/sh
# `make run`: start the box of the current directory and open a shell in it.
# The box keeps running after the shell exits; `lbx down NAME` stops it.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
lbx=$root/$build/lbx/lbx
json=$("$lbx" up --json) || exit 1
name=$(printf '%s\n' "$json" | sed -n 's/.*"name": "\([^"]*\)".*/\1/p')
echo "lbx: box $name is up; leave the shell with 'exit' (the box keeps running:" \
	"'$lbx down $name' stops it)" >&2
exec "$lbx" enter "$name"
