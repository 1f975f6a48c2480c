#!/bin/sh
# SPDX-License-Identifier: MIT
# The inode fd budget through a real mount: lbx-fsd --max-inode-fds 64 on
# a tree of 3000 files. find, reading every file and git status give what
# they give on the host, while the server holds few fds. Needs root and
# /dev/fuse, else skips.
#   test-fsd-budget.sh LBX_FSD
set -u
fsd=$1
budget=64
. "$(dirname "$0")/tap.sh"
need_fuse_and git tar find sha256sum

base=$(mktemp -d /tmp/lbx-fsd-budget.XXXXXX)
src=$base/src mnt=$base/mnt
mkdir -p "$src" "$mnt"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	umount "$mnt" 2>/dev/null
	rm -rf "$base"
}
trap cleanup EXIT

# 3000 files, 3 levels deep, in a git repository; then some changes for git status to see
for a in 0 1 2 3 4 5 6 7 8 9; do
	for b in 0 1 2 3 4 5 6 7 8 9; do
		d=$src/pkg$a/lib$b
		mkdir -p "$d"
		for c in $(seq 0 29); do echo "module $a/$b/$c" >"$d/m$c.js"; done
	done
done
git -C "$src" init -q && git -C "$src" add -A &&
	git -C "$src" -c user.name=t -c user.email=t@e commit -q -m tree ||
	{ echo "1..0 # SKIP git could not make the repository"; exit 0; }
echo changed >>"$src/pkg3/lib4/m5.js"
rm "$src/pkg7/lib1/m2.js"
echo new >"$src/pkg9/lib9/untracked.js"

mounted() { awk -v m="$mnt" '$5 == m' /proc/self/mountinfo | grep -q fuse.lbx-fsd; }
sums() { (cd "$1" && find $2 -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }

# One mount: the default cache timeout (the guest kernel revalidates names
# with LOOKUPs), then a long one (it keeps them: after a rename only the
# server's own record of the new name reopens what it evicted).
round() {
	timeout=$1 dir=$2
	"$fsd" --shared-dir "$src" --fuse-mount "$mnt" --max-inode-fds $budget \
		--cache-timeout "$timeout" 2>"$base/log" &
	pid=$!
	i=0
	while ! mounted; do
		i=$((i + 1))
		if [ $i -gt 1000 ] || ! kill -0 "$pid" 2>/dev/null; then
			nok "lbx-fsd --max-inode-fds $budget mounts: $(cat "$base/log")"
			return
		fi
		sleep 0.01
	done
	# the serving child holds the fds (main.c: the parent only mounts and waits)
	server=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children")
	base_fds=$(ls "/proc/$server/fd" | wc -l)
	t="cache ${timeout}s:"

	(cd "$src" && find . | sort) >"$base/find-src"
	(cd "$mnt" && find . | sort) >"$base/find-mnt"
	same "$t find lists the same $(wc -l <"$base/find-src") names as on the host" \
		"$base/find-src" "$base/find-mnt"
	fds=$(ls "/proc/$server/fd" | wc -l)
	[ "$fds" -le $((base_fds + budget)) ] &&
		ok "$t the server holds $fds fds ($base_fds before, budget $budget)" ||
		nok "$t the server holds $fds fds ($base_fds before, budget $budget)"
	sums "$src" . >"$base/sum-src"
	sums "$mnt" . >"$base/sum-mnt"
	same "$t every file reads the same ($(wc -l <"$base/sum-src") checksums)" \
		"$base/sum-src" "$base/sum-mnt"
	tar -C "$src" -cf - --sort=name . | sha256sum >"$base/tar-src"
	tar -C "$mnt" -cf - --sort=name . | sha256sum >"$base/tar-mnt"
	same "$t tar of the whole tree is byte for byte the host's" "$base/tar-src" "$base/tar-mnt"
	git -C "$src" status --porcelain >"$base/git-src"
	git -C "$mnt" status --porcelain >"$base/git-mnt"
	same "$t git status equals the host's ($(wc -l <"$base/git-src") changes)" \
		"$base/git-src" "$base/git-mnt"
	# A directory the guest holds (a shell's cwd) across a rename and the
	# eviction of its fd: the kernel resolves names from it without looking
	# it up again, so only the server's record of its new name reopens it.
	(cd "$mnt/$dir/lib3" && mv "$mnt/$dir" "$mnt/$dir-moved" &&
		cat "$mnt"/pkg0/*/* >/dev/null && sha256sum m*.js) >"$base/cwd-mnt" 2>&1
	(cd "$src/$dir-moved/lib3" && sha256sum m*.js) >"$base/cwd-src"
	same "$t files read from a held directory renamed in the mount, once evicted" \
		"$base/cwd-src" "$base/cwd-mnt"
	sums "$src" "$dir-moved" >"$base/sum-src"
	sums "$mnt" "$dir-moved" >"$base/sum-mnt"
	same "$t a directory renamed in the mount reads the same" "$base/sum-src" "$base/sum-mnt"
	fds=$(ls "/proc/$server/fd" | wc -l)
	[ "$fds" -le $((base_fds + budget)) ] && ok "$t still $fds fds" ||
		nok "$t still $fds fds (budget $budget)"
	grep -q "budget of $budget inode fds is reached" "$base/log" &&
		ok "$t the server said it evicts" || nok "$t the server said it evicts"
	kill "$pid"
	wait "$pid"
	rc=$?
	pid=
	[ $rc = 0 ] && ok "$t lbx-fsd exits 0 on SIGTERM" || nok "$t lbx-fsd exits 0 on SIGTERM (got $rc)"
	mv "$src/$dir-moved" "$src/$dir"
}

round 1 pkg2
round 60 pkg5
echo "1..$n"
[ $failed = 0 ]
