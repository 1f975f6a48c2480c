#!/bin/sh
# Real tools on an lbx-fsd mount: git, tar, cc, find; results compared with
# the host's view of the same tree. Needs root and /dev/fuse, else skips
# with the reason; lbx-fsd failing to mount or dying is a failure.
#   test-fsd-tools.sh LBX_FSD
set -u
fsd=$1
. "$(dirname "$0")/tap.sh"
need_fuse_and git tar cc find

base=$(mktemp -d /tmp/lbx-fsd-tools.XXXXXX)
src=$base/src mnt=$base/mnt
mkdir -p "$src" "$mnt"
"$fsd" --shared-dir "$src" --fuse-mount "$mnt" 2>"$base/log" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	umount "$mnt" 2>/dev/null
	rm -rf "$base"
}
trap cleanup EXIT
i=0
mounted() { awk -v m="$mnt" '$5 == m' /proc/self/mountinfo | grep -q fuse.lbx-fsd; }
while ! mounted; do
	i=$((i + 1))
	if [ $i -gt 1000 ] || ! kill -0 "$pid" 2>/dev/null; then
		bail "lbx-fsd mounts the tree: $(cat "$base/log")"
	fi
	sleep 0.01
done

# a small C project
proj=$mnt/proj
mkdir -p "$proj/src"
cat >"$proj/src/util.h" <<'C'
int add(int a, int b);
int mul(int a, int b);
C
cat >"$proj/src/add.c" <<'C'
#include "util.h"
int add(int a, int b) { return a + b; }
C
cat >"$proj/src/mul.c" <<'C'
#include "util.h"
int mul(int a, int b) { int r = 0; for (int i = 0; i < b; i++) r = add(r, a); return r; }
C
cat >"$proj/src/main.c" <<'C'
#include <stdio.h>
#include "util.h"
int main(void) { printf("%d\n", mul(6, 7)); return 0; }
C
cat >"$proj/Makefile" <<'M'
prog: src/main.o src/add.o src/mul.o
	$(CC) -o $@ $^
%.o: %.c src/util.h
	$(CC) -O2 -c -o $@ $<
M

check "git init in the mount" git -C "$proj" init -q
check "git add" git -C "$proj" add -A
check "git commit" git -C "$proj" -c user.name=t -c user.email=t@e commit -q -m first
[ -z "$(git -C "$proj" status --porcelain)" ] && ok "git status is clean" || nok "git status is clean"
echo "// change" >>"$proj/src/add.c"
[ "$(git -C "$proj" status --porcelain)" = " M src/add.c" ] && ok "git status sees a change" ||
	nok "git status sees a change"
check "git commit -a" git -C "$proj" -c user.name=t -c user.email=t@e commit -q -a -m second
[ "$(git -C "$src/proj" rev-parse HEAD)" = "$(git -C "$proj" rev-parse HEAD)" ] &&
	ok "the host's git agrees on HEAD" || nok "the host's git agrees on HEAD"
check "git fsck on the host" git -C "$src/proj" fsck --strict

if command -v make >/dev/null; then
	check "cc builds the project (make)" make -s -C "$proj"
else
	check "cc builds the project" sh -c "cd '$proj' && cc -O2 -o prog src/*.c"
fi
[ "$("$proj/prog")" = 42 ] && ok "the program built in the mount runs" || nok "the program built in the mount runs"
cmp -s "$proj/prog" "$src/proj/prog" && ok "the binary is the same on the host" || nok "the binary is the same on the host"

check "tar c from the mount" tar -C "$mnt" -cf "$base/a.tar" proj
mkdir "$mnt/unpacked"
check "tar x into the mount" tar -C "$mnt/unpacked" -xf "$base/a.tar"
check "the unpacked tree equals the original (diff -r)" diff -r "$src/proj" "$src/unpacked/proj"

(cd "$mnt" && find . | sort) >"$base/find-mnt"
(cd "$src" && find . | sort) >"$base/find-src"
check "find lists the same names as on the host" cmp "$base/find-mnt" "$base/find-src"
(cd "$mnt" && find . -type f -exec stat -c '%n %s %a %u %g %Y %h' {} + | sort) >"$base/stat-mnt"
(cd "$src" && find . -type f -exec stat -c '%n %s %a %u %g %Y %h' {} + | sort) >"$base/stat-src"
check "sizes, modes, owners, mtimes, link counts agree with the host" cmp "$base/stat-mnt" "$base/stat-src"

kill -0 "$pid" 2>/dev/null && ok "lbx-fsd is still serving after the tools ran" ||
	nok "lbx-fsd is still serving after the tools ran: $(cat "$base/log")"
kill "$pid"
wait "$pid"
rc=$?
[ $rc = 0 ] && ok "lbx-fsd exits 0 on SIGTERM" || nok "lbx-fsd exits 0 on SIGTERM (got $rc)"
mounted && nok "and unmounted" || ok "and unmounted"
echo "1..$n"
[ $failed = 0 ]
