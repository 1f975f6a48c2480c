#!/bin/sh
# lbx-mkinitramfs writes a newc archive the standard cpio tool reads back,
# with /init, /dev/console as a device record, extra files and symlinks.
set -u
mk=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }

printf '#!/bin/sh\necho agent\n' >"$t/agent"
printf 'hello\n' >"$t/data"
"$mk" -o "$t/out.cpio" --agent "$t/agent" --file "$t/data:/etc/data:0600" \
	--symlink /bin/sh:busybox 2>"$t/err"
rc=$?
check "builds an archive" '[ $rc -eq 0 ] && [ -s "$t/out.cpio" ]'
cpio -itv <"$t/out.cpio" >"$t/list" 2>/dev/null
check "init is an executable file" 'grep -q "^-rwxr-xr-x .* init$" "$t/list"'
check "dev/console is char device 5,1" 'grep -Eq "^crw------- .* 5, +1 .* dev/console$" "$t/list"'
check "extra file keeps its mode" 'grep -q "^-rw------- .* etc/data$" "$t/list"'
check "symlink recorded" 'grep -q "bin/sh -> busybox" "$t/list"'
check "mount points present" 'for d in proc sys dev run tmp; do grep -q " $d\$" "$t/list" || exit 1; done'
mkdir "$t/x"
(cd "$t/x" && cpio -id --no-absolute-filenames <"$t/out.cpio" 2>/dev/null)
check "file contents round-trip" 'cmp -s "$t/x/init" "$t/agent" && cmp -s "$t/x/etc/data" "$t/data"'
"$mk" -o "$t/again.cpio" --agent "$t/agent" --file "$t/data:/etc/data:0600" \
	--symlink /bin/sh:busybox
check "output is reproducible" 'cmp -s "$t/out.cpio" "$t/again.cpio"'
"$mk" -o "$t/bad.cpio" --agent "$t/missing" 2>"$t/err"
rc=$?
check "missing agent fails and names it" '[ $rc -ne 0 ] && grep -q "missing" "$t/err" && [ ! -e "$t/bad.cpio" ]'
"$mk" -o "$t/bad.cpio" --agent "$t/agent" --file nocolon 2>"$t/err"
rc=$?
check "malformed --file fails" '[ $rc -ne 0 ] && grep -q "SRC:DST" "$t/err"'
echo "1..$n"
