#!/bin/sh
# The busybox test image: an initramfs overlay with a static busybox and a
# link for each applet, appended to the box initramfs by engines that boot
# the "busybox" image. No network: it uses the host's busybox-static.
#   mkbusybox.sh LBX_MKINITRAMFS OUT
set -eu
mk=$1 out=$2
bb=$(command -v busybox || echo /bin/busybox)
if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
	echo "mkbusybox.sh: a static busybox is needed (apt-get install busybox-static)" >&2
	exit 1
fi
set -- --dir /bin --dir /etc --dir /home --file "$bb:/bin/busybox:0755"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || set -- "$@" --symlink "/bin/$a:busybox"
done
exec "$mk" -o "$out" "$@"
