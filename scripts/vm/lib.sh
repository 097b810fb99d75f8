# shellcheck shell=bash
# lib.sh - shared helpers of the ipnbus VM harness: which kernel, and whether
# everything needed to boot it under qemu is installed.

# Kernel ABI of Debian's linux-image-amd64 (never the host's uname -r: the
# host kernel cannot load modules).  IPNBUS_VM_KVER overrides.
ipnvm_kver() {
	if [ -n "${IPNBUS_VM_KVER:-}" ]; then
		echo "$IPNBUS_VM_KVER"
		return
	fi
	dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		sed -n 's/^linux-image-\([^ ,]*\).*/\1/p'
}

# Print why the VM cannot run (one line) and fail; succeed silently if it can.
ipnvm_missing() {
	local kver cmd
	for cmd in qemu-system-x86_64 cpio gcc make modprobe xz busybox; do
		command -v "$cmd" >/dev/null 2>&1 ||
			{ echo "missing $cmd (apt-get install qemu-system-x86 cpio build-essential kmod xz-utils busybox-static)"; return 1; }
	done
	if ldd "$(command -v busybox)" >/dev/null 2>&1; then
		echo "busybox is dynamically linked (install busybox-static)"
		return 1
	fi
	kver=$(ipnvm_kver)
	[ -n "$kver" ] || { echo "no Debian kernel image (apt-get install linux-image-amd64)"; return 1; }
	local kimg=${IPNBUS_VM_KIMAGE:-/boot/vmlinuz-$kver}
	local kbuild=${IPNBUS_VM_KBUILD:-/lib/modules/$kver/build}
	[ -r "$kimg" ] || { echo "no kernel image $kimg"; return 1; }
	[ -f "$kbuild/Makefile" ] ||
		{ echo "no kernel headers for $kver (apt-get install linux-headers-amd64)"; return 1; }
	return 0
}

# The accelerator qemu will get: IPNBUS_VM_ACCEL unless auto/unset, else kvm
# when /dev/kvm is usable and the CPU has vmx/svm, else tcg.
ipnvm_accel() {
	case ${IPNBUS_VM_ACCEL:-auto} in
	auto) ;;
	*) echo "$IPNBUS_VM_ACCEL"; return ;;
	esac
	if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# For scripts that need the VM: exit 1 with the reason when it cannot run.
ipnvm_require() {
	local why
	if ! why=$(ipnvm_missing); then
		echo "$1: cannot run: $why" >&2
		exit 1
	fi
}

# For test scripts: when the VM cannot run, a notice and exit 0, or exit 1
# saying why when IPNBUS_REQUIRE_KERNEL_TESTS=1 (CI: a missing tool fails).
ipnvm_test_require() {
	local why
	why=$(ipnvm_missing) && return 0
	if [ "${IPNBUS_REQUIRE_KERNEL_TESTS:-0}" = 1 ]; then
		echo "$1: cannot run the kernel tests: $why" >&2
		exit 1
	fi
	echo "$1: skipped ($why); IPNBUS_REQUIRE_KERNEL_TESTS=1 makes this an error"
	exit 0
}

# Every kernel ABI with both an image in /boot and headers installed
# (bootable in the VM), oldest first.
ipnvm_bootable_kvers() {
	local d k
	for d in /lib/modules/*/build; do
		k=$(basename "$(dirname "$d")")
		[ -f "$d/Makefile" ] && [ -r "/boot/vmlinuz-$k" ] && echo "$k"
	done | sort -V
}

# Every installed header tree (/lib/modules/*/build), oldest first.
ipnvm_header_kvers() {
	local d
	for d in /lib/modules/*/build; do
		[ -f "$d/Makefile" ] && basename "$(dirname "$d")"
	done | sort -V
}
