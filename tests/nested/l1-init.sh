#!/bb/sh
# /init of the nested layer's L1 (tests/nested/l1.py): Debian's kernel with
# busybox. Loads kvm_amd and the 9p modules, mounts the host's /usr, /etc,
# the source and build tree and the kernel cache read-only at their own
# paths (nested.mounts=TAG:PATH,...), the job directory at /job and the
# scratch disk at /scratch (TMPDIR), runs
# /job/run.sh on the console and powers off (QEMU runs with -no-reboot).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bb HOME=/root
/bb/mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
ip link set lo up

end() {
	sync
	echo "nested: L1 done"
	reboot -f
}

for m in $(cat /modules/order); do
	insmod "/modules/$m" || echo "nested: insmod $m failed"
done
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232 2>/dev/null

opts=trans=virtio,version=9p2000.L,msize=262144
for pair in $(tr ' ' '\n' </proc/cmdline | sed -n 's/^nested\.mounts=//p' | tr ',' ' '); do
	tag=${pair%%:*} dir=${pair#*:}
	mkdir -p "$dir"
	mount -t 9p -o "$opts,ro,cache=loose" "$tag" "$dir" || echo "nested: 9p mount $tag failed"
done
mkdir -p /scratch
if mount -t ext4 /dev/vda /scratch; then
	chmod 1777 /scratch
	export TMPDIR=/scratch
else
	echo "nested: the scratch disk does not mount; TMPDIR stays /tmp (tmpfs, no user xattrs)"
fi
mount -t 9p -o "$opts,cache=none" job /job || {
	echo "nested: SKIP the job directory cannot be mounted over 9p"
	end
}
if ! grep -qw svm /proc/cpuinfo; then
	echo "nested: SKIP L1's CPU has no svm (QEMU -cpu max,+svm)"
elif ! grep -qw kvm_amd /proc/modules; then
	echo "nested: SKIP kvm_amd did not load in L1: $(dmesg | grep -i -m1 -E 'kvm|svm')"
elif ! [ -c /dev/kvm ]; then
	echo "nested: SKIP L1 has no /dev/kvm"
else
	echo "nested: L1 up at $(cut -d' ' -f1 /proc/uptime) s, /dev/kvm ready"
	cd /job && sh /job/run.sh
	echo "nested: job exit $?"
fi
end
