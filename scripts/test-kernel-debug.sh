#!/bin/bash
# test-kernel-debug.sh - npm run test:kernel:debug
#                        [-- --config-only | --build-only | --node-only | --c-only]
#
# The kernel suite (C tests, fuzzer, Node suites) and a longer fuzzer run
# on a KASAN + lockdep kernel built from Debian's linux-source package (the
# same 6.1 sources as the VM's usual kernel).  Debian's kernel has neither
# (only slub poisoning, which catches what touches freed memory, not
# out-of-bounds reads or lock-order bugs).
#
# Why the config is not Debian's: Debian's config builds thousands of
# drivers into the image once they are switched to built-in, well over an
# hour on 2 shared cores, for hardware the VM never has.  ipn.ko touches
# only the core (sockets, skbs, files, namespaces, memcg, BPF filters), and
# that core is the same code whatever drivers are configured, so the
# kernel here is x86_64_defconfig + kvm_guest.config (virtio, 9p, serial
# console), what the harness and the tests use (virtiofs, namespaces,
# memcg, BPF syscall, io_uring; see BUILTIN), the debug options (DEBUG_ON)
# and no drivers for hardware the VM has not (DEBUG_OFF, build time only).  What
# this does not cover: Debian-only options (AppArmor as the default LSM,
# preemption model "voluntary" is the same).  About 25 minutes with -j2.
#
# The kernel is built once and cached outside the repository in
# $IPNBUS_KDEBUG_CACHE (default /var/cache/ipnbus-kdebug); later runs reuse
# it.  ipn.ko builds against the tree (modules_prepare + vmlinux.symvers).
# --config-only stops after writing and checking the .config, --build-only
# after building the kernel; --node-only runs only the kernel-backend Node
# suites (those that reach the module on every kernel, as test:kernel runs
# after its first kernel) with test timeouts x3 (KASAN checks every memory
# access: Node runs about 3x slower there than on Debian's kernel under TCG);
# --c-only runs the C tests and the suite's fuzzer, then the longer fuzzer
# (IPNBUS_KDEBUG_FUZZ_MINUTES=0 skips it).
#
# Needs root (apt-get) the first time: linux-source-6.1, flex, bison, bc,
# libelf-dev, libssl-dev.  Knobs: IPNBUS_FUZZ_SECONDS for the suite's
# fuzzer (default 300 here), IPNBUS_KDEBUG_FUZZ_MINUTES for the separate
# fuzzer run (default 10), IPNBUS_KDEBUG_JOBS for make -j (nproc),
# IPNBUS_KDEBUG_NICE for the build's niceness (19).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"

CACHE=${IPNBUS_KDEBUG_CACHE:-/var/cache/ipnbus-kdebug}
JOBS=${IPNBUS_KDEBUG_JOBS:-$(nproc)}
NICE=${IPNBUS_KDEBUG_NICE:-19}
CONFIG_ONLY=0 BUILD_ONLY=0 NODE_ONLY=0 C_ONLY=0
[ "${1:-}" = --config-only ] && CONFIG_ONLY=1
[ "${1:-}" = --build-only ] && BUILD_ONLY=1
[ "${1:-}" = --node-only ] && NODE_ONLY=1
[ "${1:-}" = --c-only ] && C_ONLY=1
say() { printf '[kdebug] %s\n' "$*" >&2; }
die() { printf '[kdebug] ERROR: %s\n' "$*" >&2; exit 2; }

# KASAN (generic, inline: the fastest under TCG) finds out-of-bounds and
# use-after-free on every access; PROVE_LOCKING checks lock order and
# lockdep_assert_held(); the rest catch sleeping in atomic context, list
# corruption, hung tasks; SLUB_DEBUG lets slub_debug=FZP work as on Debian.
DEBUG_ON="KASAN KASAN_GENERIC KASAN_INLINE PROVE_LOCKING DEBUG_ATOMIC_SLEEP
DEBUG_LIST KFENCE DETECT_HUNG_TASK SLUB_DEBUG"
# What the VM harness (run.sh, guest-init.sh) and the tests need, built in
# so that no module but ipn.ko is loaded.  Voluntary preemption as Debian.
BUILTIN="VIRTIO VIRTIO_PCI NET_9P NET_9P_VIRTIO 9P_FS 9P_FS_POSIX_ACL
FUSE_FS VIRTIO_FS DEVTMPFS TMPFS UNIX MODULES MODULE_UNLOAD NAMESPACES
NET_NS PID_NS USER_NS CGROUPS MEMCG BPF_SYSCALL IO_URING SERIAL_8250_CONSOLE
PREEMPT_VOLUNTARY"
# Off: build time only (drivers and subsystems for hardware and features
# the VM has not: no disk, no network card, no USB, no netfilter, no
# traffic control, SELinux, tracing or local file systems), signing and
# module versions (ipn.ko links against this tree's vmlinux.symvers only),
# debug info (extra build time and gigabytes).
DEBUG_OFF="DRM FB AGP SOUND WLAN WIRELESS CFG80211 RFKILL ETHERNET USB_SUPPORT
SCSI ATA MD HID INPUT_MOUSE INPUT_JOYSTICK INPUT_TABLET INPUT_TOUCHSCREEN
NETFILTER NFS_FS EFI HIBERNATION SUSPEND CPU_FREQ HWMON THERMAL WATCHDOG
PCCARD MEDIA_SUPPORT NET_SCHED SECURITY_SELINUX AUDIT EXT4_FS ISO9660_FS
VFAT_FS MSDOS_FS FAT_FS QUOTA AUTOFS_FS XFRM_USER INET_ESP IP_ADVANCED_ROUTER
IP_MULTICAST NETLABEL KPROBES FTRACE PERF_EVENTS_INTEL_UNCORE
PERF_EVENTS_INTEL_RAPL PERF_EVENTS_INTEL_CSTATE HOTPLUG_PCI X86_MCE
MICROCODE MODULE_SIG MODVERSIONS DEBUG_INFO_BTF DEBUG_INFO_DWARF5
DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_DWARF4 KASAN_OUTLINE"

[ "$(id -u)" = 0 ] || die "needs root the first time (apt-get, /var/cache)"
KVER=$(ipnvm_kver)
[ -n "$KVER" ] || die "no Debian kernel image (apt-get install linux-image-amd64)"
base=${KVER%%.*}.$(echo "$KVER" | cut -d. -f2)	# 6.1
SRCPKG=linux-source-$base
need=()
for p in "$SRCPKG" flex bison bc libelf-dev libssl-dev; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
fi
tarball=$(ls /usr/src/"$SRCPKG".tar.xz 2>/dev/null) ||
	die "no /usr/src/$SRCPKG.tar.xz"
srcver=$(dpkg-query -W -f='${Version}' "$SRCPKG")
imgver=$(dpkg-query -W -f='${Version}' "linux-image-$KVER" 2>/dev/null || true)
[ "$srcver" = "$imgver" ] ||
	say "note: $SRCPKG $srcver, linux-image-$KVER $imgver (config taken from the image)"

SRC=$CACHE/$SRCPKG-$srcver
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -e "$SRC/.ipnbus-unpacked" ]; then
	say "unpacking $tarball into $SRC (once)"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xJf "$tarball" -C "$SRC" --strip-components=1
	touch "$SRC/.ipnbus-unpacked"
fi

# ------------------------------------------------------------- config
cfg() { "$SRC/scripts/config" --file "$SRC/.config" "$@"; }
want=$(printf '%s\n' "$DEBUG_ON $BUILTIN $DEBUG_OFF" | sha1sum | cut -c1-12)
if [ "$(cat "$SRC/.ipnbus-config" 2>/dev/null)" != "$want" ]; then
	say "config: x86_64_defconfig + kvm_guest.config + KASAN, PROVE_LOCKING, ..."
	rm -f "$SRC/.config"
	make -C "$SRC" x86_64_defconfig kvm_guest.config >"$CACHE/config.log" 2>&1 ||
		{ tail "$CACHE/config.log" >&2; die "defconfig failed"; }
	for o in $DEBUG_ON $BUILTIN; do cfg --enable "$o"; done
	for o in $DEBUG_OFF; do cfg --disable "$o"; done
	cfg --enable DEBUG_INFO_NONE --set-str LOCALVERSION "-ipnbus-kdebug"
	make -C "$SRC" olddefconfig >>"$CACHE/config.log" 2>&1 ||
		{ tail "$CACHE/config.log" >&2; die "olddefconfig failed"; }
	echo "$want" >"$SRC/.ipnbus-config"
fi
# olddefconfig drops what it cannot satisfy: check the result.
missing=()
for o in $DEBUG_ON $BUILTIN; do
	grep -q "^CONFIG_$o=y" "$SRC/.config" || missing+=("$o")
done
[ ${#missing[@]} = 0 ] || die "the config lost: ${missing[*]}"
for o in MODULE_SIG MODVERSIONS DEBUG_INFO_BTF PREEMPT PREEMPT_NONE; do
	! grep -q "^CONFIG_$o=y" "$SRC/.config" || die "CONFIG_$o is still on"
done
say "config ok: $(echo $DEBUG_ON | wc -w) debug options on, VM drivers built in ($SRC/.config)"
[ $CONFIG_ONLY = 1 ] && exit 0

# ------------------------------------------------------------- build
KREL=$(make -s -C "$SRC" kernelrelease)
if [ ! -e "$SRC/.ipnbus-built" ] || [ "$SRC/.config" -nt "$SRC/.ipnbus-built" ]; then
	say "building $KREL with $JOBS jobs (about 25 minutes on 2 cores; log $CACHE/build.log)"
	t0=$(date +%s)
	nice -n "$NICE" make -C "$SRC" -j"$JOBS" bzImage modules_prepare >"$CACHE/build.log" 2>&1 ||
		{ tail -30 "$CACHE/build.log" >&2; die "kernel build failed"; }
	# External modules resolve symbols against Module.symvers; with no
	# in-tree modules built it is the kernel's own list.
	cp "$SRC/vmlinux.symvers" "$SRC/Module.symvers"
	touch "$SRC/.ipnbus-built"
	say "built in $(($(date +%s) - t0)) s"
fi
[ $BUILD_ONLY = 1 ] && exit 0

# ------------------------------------------------------------- run
export IPNBUS_VM_KVER=$KREL IPNBUS_VM_KBUILD=$SRC \
	IPNBUS_VM_KIMAGE=$SRC/arch/x86/boot/bzImage IPNBUS_VM_KCONFIG=$SRC/.config
export IPNBUS_FUZZ_SECONDS=${IPNBUS_FUZZ_SECONDS:-300}
# KASAN + lockdep under TCG: several times slower than Debian's kernel.
export IPNBUS_VM_TIMEOUT=${IPNBUS_VM_TIMEOUT:-7200}
rc=0
if [ $NODE_ONLY = 1 ]; then
	say "kernel-backend Node suites on $KREL"
	IPNBUS_TEST_KERNEL_REPEAT=1 IPNBUS_TEST_TIMEOUT_SCALE=${IPNBUS_TEST_TIMEOUT_SCALE:-3} \
		"$HERE/vm/run.sh" bash scripts/vm/kernel-suite.sh --node-only || rc=1
	say "result on $KREL: $([ $rc = 0 ] && echo clean || echo FAILED)"
	exit $rc
fi
say "kernel suite on $KREL"
"$HERE/vm/run.sh" bash scripts/vm/kernel-suite.sh $([ $C_ONLY = 1 ] && echo --no-node) || rc=1
minutes=${IPNBUS_KDEBUG_FUZZ_MINUTES:-10}
if [ "$minutes" != 0 ]; then
	say "fuzzer, $minutes minutes, on $KREL"
	"$HERE/fuzz-kernel.sh" --minutes "$minutes" || rc=1
fi
say "result on $KREL: $([ $rc = 0 ] && echo clean || echo FAILED)"
exit $rc
