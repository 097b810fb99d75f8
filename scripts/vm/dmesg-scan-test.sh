#!/bin/bash
# dmesg-scan-test.sh - prove that the VM's dmesg verdict works: every line
# of a kernel complaint we rely on (samples of each report's first line, as
# the kernels print them) must match scripts/vm/dmesg-fail.re, and lines a
# clean boot prints must not.  Run with both the host's grep and busybox's
# (the guest's grep, which applies the patterns in guest-init.sh).
# Exit status 0 when the scan behaves, 1 with the offending samples listed.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATTERNS=$HERE/dmesg-fail.re

must_match=(
	'[   12.345678] BUG: KFENCE: use-after-free read in ipn_recvmsg+0x1a2/0x4c0 [ipn]'
	'[   12.345678] BUG: KASAN: slab-use-after-free in receive_fd+0x21/0x90'
	'[   12.345678] BUG kmalloc-2k (Tainted: G           OE     ): Poison overwritten'
	'[   12.345678] BUG: unable to handle page fault for address: ffff8880deadbeef'
	'[   12.345678] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283'
	'[   12.345678] kernel BUG at net/core/skbuff.c:2156!'
	'[   12.345678] general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6baf: 0000 [#1] PREEMPT SMP NOPTI'
	'[   12.345678] Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6baf: 0000 [#1] PREEMPT SMP NOPTI'
	'[   12.345678] Oops: 0002 [#1] PREEMPT SMP NOPTI'
	'[   12.345678] WARNING: CPU: 1 PID: 312 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110'
	'[   12.345678] WARNING: possible circular locking dependency detected'
	'[   12.345678] refcount_t: underflow; use-after-free.'
	'[   12.345678] refcount_t: saturated; leaking memory.'
	'[   12.345678] Call Trace:'
	'[   12.345678] UBSAN: array-index-out-of-bounds in /work/kernel/af_ipn.c:640:21'
	'[   12.345678] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'
	'[   12.345678] kmem_cache_destroy IPN: Slab cache still has objects when called from ipn_exit+0x1c/0x30 [ipn]'
	'[  245.123456] INFO: task ipn_fuzz:417 blocked for more than 120 seconds.'
	'[   12.345678] list_del corruption. prev->next should be ffff888004a1c000, but was 6b6b6b6b6b6b6b6b'
	'[   12.345678] Kernel panic - not syncing: Fatal exception'
	'[   79.461884] watchdog: BUG: soft lockup - CPU#0 stuck for 122s! [ipn_fuzz:1234]'
	'[   80.000000] rcu: INFO: rcu_preempt self-detected stall on CPU'
	'BUG: KFENCE: out-of-bounds write in ipn_fds_free+0x2c/0x50 [ipn]'
)
must_not_match=(
	'[    0.028000] ..MP-BIOS bug: 8254 timer not connected to IO-APIC'
	'[    6.081234] ipn: loading out-of-tree module taints kernel.'
	'[    6.081234] ipn: module verification failed: signature and/or required key missing - tainting kernel'
	'[    0.000000] Command line: console=ttyS0 panic=-1 oops=panic slub_debug=FZP kfence.sample_interval=1'
	'[    0.412345] kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)'
	'[    0.000000] ** This means that this is a DEBUG kernel and it is     **'
	'[    0.512345] Spectre V2 : Mitigation: Retpolines'
	'[   11.486148] virtio_blk virtio1: [vda] 2097152 512-byte logical blocks'
)

fail=0
greps=(grep)
if command -v busybox >/dev/null 2>&1; then greps+=("busybox grep"); fi
for g in "${greps[@]}"; do
	for line in "${must_match[@]}"; do
		if ! printf '%s\n' "$line" | $g -qE -f "$PATTERNS"; then
			echo "dmesg scan ($g) MISSES: $line"
			fail=1
		fi
	done
	for line in "${must_not_match[@]}"; do
		if printf '%s\n' "$line" | $g -qE -f "$PATTERNS"; then
			echo "dmesg scan ($g) wrongly FLAGS: $line"
			fail=1
		fi
	done
done
n=$(( (${#must_match[@]} + ${#must_not_match[@]}) * ${#greps[@]} ))
if [ $fail = 0 ]; then
	echo "dmesg scan: $n samples classified right (${greps[*]})"
fi
exit $fail
