#!/bin/sh
# guest-init.sh - PID 1 of the ipnbus test VM: load ipn.ko, run the command
# in the checkout (host userland), unload ipn.ko, check dmesg, report status.
# Runs under busybox; the host writes /ipnvm/config and /ipnvm/cmd.sh.
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
ip link set lo up
hostname ipnvm
. /ipnvm/config

finish() {
	echo "IPNVM_EXIT=$1"
	echo "$1" >/dev/ttyS1
	sync
	poweroff -f
	sleep 10
}

echo "IPNVM_INIT uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"
while read -r m; do
	insmod "$m" || echo "ipnvm: insmod $m failed"
done </ipnvm/kmods.list
# shellcheck disable=SC2086
if ! insmod /ipnvm/ipn.ko $MODARGS; then
	echo "ipnvm: insmod ipn.ko $MODARGS FAILED"
	dmesg | tail -20
	finish 126
fi

# Guest root: a tmpfs with the host's /usr and /etc read-only over 9p, so
# the host's node, libraries and tools run here unchanged.
N=/newroot
mount -t tmpfs -o mode=755 tmpfs $N
mkdir -p $N/proc $N/sys $N/dev $N/tmp $N/run $N/root $N/var/tmp $N/home
chmod 1777 $N/tmp $N/var/tmp
i=0
for d in $RO_DIRS; do
	mkdir -p "$N$d"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro \
		"ro$i" "$N$d" || { echo "ipnvm: cannot mount host $d"; finish 125; }
	i=$((i + 1))
done
for l in $ROOT_LINKS; do ln -s "${l#*:}" "$N${l%%:*}"; done
mount -t proc proc $N/proc
mount -t sysfs sysfs $N/sys
# sd-bus clients (busctl list) fail every credential query with ENOMEDIUM
# when /sys/fs/cgroup is not a cgroup file system, as on any systemd host.
mount -t cgroup2 cgroup2 $N/sys/fs/cgroup 2>/dev/null || true
mount -t devtmpfs devtmpfs $N/dev
mkdir -p $N/dev/pts $N/dev/shm $N/run/ipnvm
mount -t devpts devpts $N/dev/pts
mount -t tmpfs tmpfs $N/dev/shm
mount -o bind /ipnvm $N/run/ipnvm
mkdir -p "$N$SHARE"
if [ "$SHARE_FS" = virtiofs ]; then
	mount -t virtiofs share "$N$SHARE" || finish 125
else
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap \
		share "$N$SHARE" || finish 125
fi
echo "IPNVM_READY uptime=$(cut -d' ' -f1 /proc/uptime)s"
echo "----- guest command -----"
chroot $N /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/ipnvm/bin \
	/bin/bash /run/ipnvm/cmd.sh </dev/null
rc=$?
echo "----- end of guest command (status $rc) -----"

# Unloading must work once every socket is closed; a process that is still
# exiting may hold one for a moment. unload N: rmmod, retried N times 0.2 s
# apart; fails if ipn is still loaded.
unload() {
	n=0
	while grep -q '^ipn ' /proc/modules && ! rmmod ipn 2>/dev/null; do
		n=$((n + 1))
		[ $n -ge "$1" ] && return 1
		sleep 0.2
	done
	return 0
}
if unload 30; then
	echo "ipnvm: ipn unloaded"
else
	echo "ipnvm: rmmod ipn FAILED: $(grep '^ipn ' /proc/modules)"
	[ "$rc" = 0 ] && rc=121
	# Processes the command left behind (a test that timed out before
	# killing its children) hold sockets. Name them, kill them, and try
	# again: the module must then unload (crash release); if it does not,
	# a reference leaked in the module itself.
	left=0
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = 1 ] || [ "$pid" = $$ ] && continue
		[ -r "$d/cmdline" ] || continue
		cmd=$(tr '\0' ' ' <"$d/cmdline" | cut -c1-120)
		[ -n "$cmd" ] || continue
		echo "ipnvm: left running: $pid $cmd"
		kill -9 "$pid" 2>/dev/null && left=$((left + 1))
	done
	if unload 50; then
		echo "ipnvm: ipn unloaded after killing $left processes the command left running"
	else
		echo "ipnvm: rmmod ipn FAILED even after killing $left leftover processes: a reference leaked"
	fi
fi

# Any kernel complaint fails the run (patterns: scripts/vm/dmesg-fail.re).
if dmesg | grep -qE -f /ipnvm/dmesg-fail.re; then
	echo "ipnvm: DMESG NOT CLEAN:"
	dmesg | grep -E -f /ipnvm/dmesg-fail.re | head -20
	echo "ipnvm: last kernel messages:"
	dmesg | tail -80
	[ "$rc" = 0 ] && rc=120
else
	echo "ipnvm: dmesg clean (no BUG/KFENCE/WARNING/Oops/Call Trace/...)"
	[ "$rc" != 0 ] && { echo "ipnvm: last kernel messages:"; dmesg | tail -10; }
fi
finish $rc
