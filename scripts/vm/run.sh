#!/bin/bash
# run.sh - run a command inside a throw-away qemu VM booted with Debian's
# kernel, with ipn.ko built from kernel/ and loaded.
#
# Usage: scripts/vm/run.sh [--] COMMAND [ARGS...]
#   scripts/vm/run.sh kernel/test/bin/ipn_basic
#   IPNBUS_TEST_BACKEND=kernel scripts/vm/run.sh \
#       node node_modules/vitest/vitest.mjs run packages/transport-ipn/test
#
# Steps: build ipn.ko against Debian's headers and the C tests
# (kernel/test/bin), boot the VM (TCG unless the CPU has vmx/svm), insmod
# ipn.ko, run COMMAND as root in the checkout (mounted read-write at the same
# path; cwd = the current directory) with the host's /usr and /etc, then
# rmmod ipn (failure to unload = failure) and scan dmesg.
#
# Environment passed to the guest command: every IPNBUS_* variable, CI, and
# the names listed in IPNBUS_VM_ENV.  IPNBUS_KO is set to the module's path
# in the guest, IPNBUS_VM=1.
#
# Knobs:
#   IPNBUS_VM_TIMEOUT   seconds before the VM is killed             (900)
#   IPNBUS_VM_MEM       guest RAM in MiB                            (2048)
#   IPNBUS_VM_SMP       guest CPUs                                  (2)
#   IPNBUS_VM_ACCEL     auto | kvm | tcg                            (auto)
#   IPNBUS_VM_MODARGS   insmod parameters for ipn.ko, e.g. family=19 ("")
#   IPNBUS_VM_SHARE_FS  virtiofs | 9p for the checkout              (virtiofs)
#   IPNBUS_VM_KVER      kernel ABI (default: linux-image-amd64's)
#   IPNBUS_VM_KIMAGE    kernel image to boot        (/boot/vmlinuz-$KVER)
#   IPNBUS_VM_KBUILD    headers/build tree for ipn.ko
#                                             (/lib/modules/$KVER/build)
#   IPNBUS_VM_KCONFIG   the kernel's .config         (/boot/config-$KVER)
#   IPNBUS_VM_APPEND    more guest kernel command-line parameters
#   IPNBUS_VM_QEMU_ARGS more qemu arguments, split at whitespace, e.g.
#                       "-plugin bench/kernel/bin/insn-count.so,out=F"
#   IPNBUS_VM_WORK      cache and per-run directories    (/tmp/ipnbus-vm)
#   IPNBUS_VM_VERBOSE=1 kernel log at loglevel 7 on the console
#   IPNBUS_VM_QUIET=1   print only the guest command's output and errors
#   IPNBUS_VM_MEMDEBUG=0  boot without slab debugging (see below)
#
# Memory-error detection: the guest boots with slub_debug=FZP (freed
# objects poisoned, redzones checked), plus kfence.sample_interval=1 when
# the kernel has CONFIG_KFENCE, unless IPNBUS_VM_MEMDEBUG=0 (benchmarks:
# poisoning and checking every slab object more than doubles the guest's
# instructions per AF_IPN delivery); after the command, dmesg is scanned
# with the patterns of dmesg-fail.re (BUG, KFENCE, KASAN, UBSAN, general
# protection, WARNING, Oops, refcount_t, Call Trace, hung tasks...;
# dmesg-scan-test.sh proves them on sample lines).
#
# Exit status: the command's; 2 host-side build/setup failure, 120 the
# kernel logged a complaint (dmesg-fail.re), 121 rmmod ipn failed, 124 timeout,
# 125 no status came back (VM failure or guest panic), 126 insmod failed.
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
[ "$1" = "--" ] && shift

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

WORK=${IPNBUS_VM_WORK:-/tmp/ipnbus-vm}
TIMEOUT=${IPNBUS_VM_TIMEOUT:-900}
MEM=${IPNBUS_VM_MEM:-2048}
SMP=${IPNBUS_VM_SMP:-2}
ACCEL=${IPNBUS_VM_ACCEL:-auto}
SHARE_FS=${IPNBUS_VM_SHARE_FS:-virtiofs}
QUIET=${IPNBUS_VM_QUIET:-0}
T0=$(date +%s%N)
say() {
	[ "$QUIET" = 1 ] && return 0
	printf '[vm %5.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 1000000 ))e-3" "$*" >&2
}
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 2; }

why=$(ipnvm_missing) || die "$why"
KVER=$(ipnvm_kver)
KBUILD=${IPNBUS_VM_KBUILD:-/lib/modules/$KVER/build}
KIMG=${IPNBUS_VM_KIMAGE:-/boot/vmlinuz-$KVER}
KCONFIG=${IPNBUS_VM_KCONFIG:-/boot/config-$KVER}
mkdir -p "$WORK"
RUN=$(mktemp -d "$WORK/run.XXXXXX")
VFS_PID=''
QEMU_PIDFILE=$RUN/qemu.pid
cleanup() {
	local pid
	pid=$(cat "$QEMU_PIDFILE" 2>/dev/null || true)
	if [ -n "$pid" ] && grep -q qemu "/proc/$pid/comm" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	if [ -n "$VFS_PID" ]; then kill "$VFS_PID" 2>/dev/null || true; fi
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- build
# Builds share the checkout with other runs: serialise them, and copy the
# results into this run's directory before letting go of the lock.
mkdir -p "$RUN/root/ipnvm/bin"
(
	flock 9
	make -C "$REPO/kernel" KDIR="$KBUILD" modules >"$RUN/build.log" 2>&1 ||
		{ cat "$RUN/build.log" >&2; exit 1; }
	if grep -E 'warning:|error:' "$RUN/build.log" >&2; then
		echo "[vm] ipn.ko build has warnings" >&2; exit 1
	fi
	make -C "$REPO/kernel/test" >>"$RUN/build.log" 2>&1 ||
		{ cat "$RUN/build.log" >&2; exit 1; }
	cp "$REPO/kernel/ipn.ko" "$RUN/root/ipnvm/ipn.ko"
) 9>"$REPO/kernel/.build.lock" || die "build failed"
say "built ipn.ko against $KVER and the C tests"

# ------------------------------------------------------------- kernel
# qemu boots the uncompressed vmlinux through its PVH entry, ~3 s faster
# under TCG than letting the bzImage decompress itself.  Debian's 6.1 packs
# it with xz, 6.12 with zstd; the first stream that decompresses to an ELF
# with the PVH note wins.
KBOOT=$KIMG
[ -r "$KIMG" ] || die "no kernel image $KIMG"
VMLINUX=$WORK/vmlinux-$KVER
[ -z "${IPNBUS_VM_KIMAGE:-}" ] || VMLINUX=$WORK/vmlinux-$(cksum <"$KIMG" | cut -d' ' -f1)
extract_vmlinux() {	# magic (grep -P) and decompressor command
	local off
	off=$(LC_ALL=C grep -obUaP "$1" "$KIMG" | head -1 | cut -d: -f1 || true)
	[ -n "$off" ] || return 1
	# (the decompressor stops after the kernel's stream: no pipe, or
	# tail's SIGPIPE would fail the pipeline)
	$2 < <(tail -c +$((off + 1)) "$KIMG") >"$RUN/vmlinux" 2>/dev/null
	readelf -n "$RUN/vmlinux" 2>/dev/null |
		grep -qE 'type: \(0x00000012\)|PHYS32_ENTRY'
}
if [ ! -s "$VMLINUX" ]; then
	if extract_vmlinux '\xfd7zXZ\x00' 'xz -dc --single-stream' ||
		{ command -v zstd >/dev/null &&
			extract_vmlinux '\x28\xb5\x2f\xfd' 'zstd -dcq'; }; then
		mv "$RUN/vmlinux" "$VMLINUX"
	fi
fi
[ -s "$VMLINUX" ] && KBOOT=$VMLINUX

# ------------------------------------------------------------- initramfs
R=$RUN/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,newroot}
cp "$(command -v busybox)" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
: >"$R/ipnvm/kmods.list"
# The share drivers (built in on some kernels: then nothing is listed).
# busybox insmod cannot read compressed modules: store them plain.
{ modprobe -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p virtiofs \
	2>/dev/null || true; } |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r m; do
		plain=${m%.xz}; plain=${plain%.zst}; plain=${plain%.gz}
		mkdir -p "$R$(dirname "$m")"
		case $m in
		*.xz) xz -dc "$m" >"$R$plain" ;;
		*.zst) zstd -dcq "$m" >"$R$plain" ;;
		*.gz) gzip -dc "$m" >"$R$plain" ;;
		*) cp "$m" "$R$plain" ;;
		esac
		echo "$plain" >>"$R/ipnvm/kmods.list"
	done
cp "$HERE/guest-init.sh" "$R/init"
cp "$HERE/dmesg-fail.re" "$R/ipnvm/dmesg-fail.re"
chmod +x "$R/init"
RO_DIRS="/usr /etc"
for d in /bin /sbin /lib /lib64; do	# a host without merged /usr
	if [ -d "$d" ] && [ ! -L "$d" ]; then RO_DIRS="$RO_DIRS $d"; fi
done
ROOT_LINKS=''
for l in /bin /sbin /lib /lib32 /lib64 /libx32; do
	[ -L "$l" ] && ROOT_LINKS="$ROOT_LINKS $l:$(readlink "$l")"
done
if [ "$SHARE_FS" = virtiofs ] && [ ! -x /usr/lib/qemu/virtiofsd ]; then
	SHARE_FS=9p
fi
CWD=$PWD
case "$CWD/" in "$REPO"/*) ;; *) CWD=$REPO ;; esac
{
	printf 'MODARGS=%q\n' "${IPNBUS_VM_MODARGS:-}"
	printf 'SHARE=%q\nRO_DIRS=%q\nROOT_LINKS=%q\n' "$REPO" "$RO_DIRS" "$ROOT_LINKS"
} >"$R/ipnvm/config"
{
	echo "export IPNBUS_VM=1 IPNBUS_KO=/run/ipnvm/ipn.ko"
	for v in $(compgen -e | grep -E '^(IPNBUS_|CI$)' || true) ${IPNBUS_VM_ENV:-}; do
		[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'cd %q || exit 1\n' "$CWD"
	printf '%q ' "$@"
	echo
} >"$R/ipnvm/cmd.sh"

# ------------------------------------------------------------- boot
ACCEL=$(IPNBUS_VM_ACCEL=$ACCEL ipnvm_accel)
CPU=max
[ "$ACCEL" = kvm ] && CPU=host
Q=(-nodefaults -no-user-config -machine pc -accel "$ACCEL" -cpu "$CPU"
	-m "$MEM" -smp "$SMP" -display none -no-reboot -nic none
	-kernel "$KBOOT" -initrd "$RUN/initramfs.cpio"
	-serial stdio -serial "file:$RUN/rc")
if [ "$SHARE_FS" = virtiofs ]; then
	/usr/lib/qemu/virtiofsd --socket-path="$RUN/vfs.sock" -o source="$REPO" \
		-o cache=auto -o sandbox=chroot >"$RUN/virtiofsd.log" 2>&1 &
	VFS_PID=$!
	for _ in $(seq 50); do [ -S "$RUN/vfs.sock" ] && break; sleep 0.1; done
	if [ -S "$RUN/vfs.sock" ]; then
		Q+=(-object "memory-backend-memfd,id=mem,size=${MEM}M,share=on"
			-numa node,memdev=mem -chardev "socket,id=vfs,path=$RUN/vfs.sock"
			-device vhost-user-fs-pci,chardev=vfs,tag=share)
	else
		say "virtiofsd did not start; sharing the checkout over 9p"
		kill "$VFS_PID" 2>/dev/null || true
		VFS_PID=''
		SHARE_FS=9p
	fi
fi
[ "$SHARE_FS" = 9p ] &&
	Q+=(-virtfs "local,path=$REPO,mount_tag=share,security_model=none,multidevs=remap")
echo "SHARE_FS=$SHARE_FS" >>"$R/ipnvm/config"
i=0
for d in $RO_DIRS; do
	Q+=(-virtfs "local,path=$d,mount_tag=ro$i,security_model=none,readonly=on,multidevs=remap")
	i=$((i + 1))
done
LOGLEVEL=4
[ "${IPNBUS_VM_VERBOSE:-0}" = 1 ] && LOGLEVEL=7
# Memory-error detection on every boot (see the header).  The lockup and
# RCU-stall detectors get their longest thresholds (120 s): under TCG on a
# busy host a vCPU can be starved for 20 s, which would otherwise be
# reported as a soft lockup ("BUG: soft lockup") and fail a clean run.
# no_timer_check: the boot-time check that the IO-APIC delivers timer
# ticks gives the vCPU a few emulated milliseconds; starved under TCG on a
# loaded host it misses them and panics ("IO-APIC + timer doesn't work",
# seen booting the KASAN kernel beside two other VMs).
DEBUG_ARGS="slub_debug=FZP"
LOCKUP_ARGS="watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120 no_timer_check"
grep -q '^CONFIG_KFENCE=y' "$KCONFIG" 2>/dev/null &&
	DEBUG_ARGS="$DEBUG_ARGS kfence.sample_interval=1"
[ "${IPNBUS_VM_MEMDEBUG:-1}" = 0 ] && DEBUG_ARGS="slub_debug=-"
Q+=(-append "console=ttyS0 panic=-1 oops=panic loglevel=$LOGLEVEL quiet $DEBUG_ARGS $LOCKUP_ARGS ${IPNBUS_VM_APPEND:-}")
# shellcheck disable=SC2206 # split at whitespace, as documented
[ -n "${IPNBUS_VM_QEMU_ARGS:-}" ] && Q+=($IPNBUS_VM_QEMU_ARGS)
(cd "$R" && find . | cpio -o -H newc --quiet) >"$RUN/initramfs.cpio"
: >"$RUN/rc"

say "booting $KVER (accel=$ACCEL, share=$SHARE_FS, $DEBUG_ARGS, timeout ${TIMEOUT}s)"
# In the background, so that a signal to this script runs its traps (and
# kills qemu) at once instead of after the pipeline.
run_qemu() {
	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${Q[@]}" \
		-pidfile "$QEMU_PIDFILE" </dev/null 2>&1 | sed -u 's/\r$//' |
		if [ "$QUIET" = 1 ]; then
			# only the guest command's own output and the verdicts
			# (and qemu's own errors: a plugin it cannot load...)
			awk '/^----- end of guest command/ { on = 0 }
			     on { print; fflush() }
			     !on && /^(qemu-system-[a-z0-9_]+|insn-count): / { print; fflush() }
			     /^----- guest command -----/ { on = 1 }
			     /^ipnvm: (DMESG|rmmod|insmod)/ { print; p = 1; fflush(); next }
			     p { print; fflush() }'
		else
			cat
		fi
	return "${PIPESTATUS[0]}"
}
set +e
run_qemu &
wait $!
QSTATUS=$?
set -e
RC=$(tr -dc '0-9\n' <"$RUN/rc" | grep -m1 . || true)
if [ -z "$RC" ]; then
	if [ "$QSTATUS" = 124 ] || [ "$QSTATUS" = 137 ]; then
		RC=124
		say "VM timed out after ${TIMEOUT}s"
	else
		RC=125
		say "no status came back from the guest (qemu status $QSTATUS)"
	fi
fi
say "guest status $RC"
exit "$RC"
