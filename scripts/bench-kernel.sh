#!/bin/bash
# bench-kernel.sh - npm run bench:kernel: in the test VM, bench/kernel/fanout
# compares one AF_IPN broadcast with one SOCK_SEQPACKET send per receiver and
# with a relay process, to 1/4/16/64 receivers (arguments: other counts).
# Prints the table, writes bench/results/kernel.{json,md,svg}; the last line
# is a JSON summary, with the host's load average at start and end.
# The VM runs with the insn-count qemu plugin (bench/kernel/insn-count.c),
# which counts the guest's instructions over each burst: instructions per
# delivery for every case, a figure the host's load does not move (its raw
# windows: bench/results/kernel-insns.log).
# IPNBUS_FANOUT_REPEAT: runs per case, the median is reported (3).
# IPNBUS_BENCH_INSNS=0: no plugin (no instruction figures; the guest runs
# about a third faster under TCG).
# IPNBUS_BENCH_PROFILE=1: the plugin also profiles every burst (where the
# instructions go, by function: bench/kernel/insn-profile.mjs); the guest
# dumps its /proc/kallsyms and fanout's maps for it, and the top functions
# per delivery are printed for IPNBUS_BENCH_PROFILE_CASES (default
# "ipn:16 relay:16"; raw: bench/results/kernel-profile.log).
# The guest boots without slab debugging (IPNBUS_VM_MEMDEBUG=0, unless set):
# the test VM's slub_debug=FZP poisons and checks every slab object, which
# costs more instructions than a 64-byte AF_IPN delivery itself.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"
ipnvm_require bench:kernel
cd "$REPO"
mkdir -p bench/results
make -s -C bench/kernel
rm -f bench/results/kernel.json bench/results/kernel-insns.log \
	bench/results/kernel-profile.log bench/results/kernel-kallsyms.txt \
	bench/results/kernel-maps.txt bench/results/kernel-profile.txt
accel=$(ipnvm_accel)
insns=()
qemu_args=${IPNBUS_VM_QEMU_ARGS:-}
# (instructions are counted only under TCG: qemu plugins see no KVM guest)
if [ "${IPNBUS_BENCH_INSNS:-1}" != 0 ] && [ "$accel" = tcg ]; then
	insns=("$REPO/bench/results/kernel-insns.log")
	qemu_args="$qemu_args -plugin $REPO/bench/kernel/bin/insn-count.so,out=${insns[0]}"
	[ "${IPNBUS_BENCH_PROFILE:-0}" = 1 ] &&
		qemu_args="$qemu_args,profile=$REPO/bench/results/kernel-profile.log"
fi
guest=(bench/kernel/bin/fanout bench/results/kernel.json "$@")
if [ "${IPNBUS_BENCH_PROFILE:-0}" = 1 ]; then
	# kallsyms shows addresses to root with kptr_restrict 0 (ipn.ko is
	# loaded by then: its symbols are in)
	export IPNBUS_FANOUT_MAPS=bench/results/kernel-maps.txt
	guest=(bash -c 'echo 0 >/proc/sys/kernel/kptr_restrict &&
		cat /proc/kallsyms >bench/results/kernel-kallsyms.txt &&
		exec "$@"' bench-kernel "${guest[@]}")
fi
export IPNBUS_VM_MEMDEBUG=${IPNBUS_VM_MEMDEBUG:-0}
# 5 runs per case with the plugin took 14-15 min at load 15-20: past run.sh's
# default 900 s once
export IPNBUS_VM_TIMEOUT=${IPNBUS_VM_TIMEOUT:-3600}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
IPNBUS_VM_ACCEL=$accel IPNBUS_VM_QUIET=1 IPNBUS_VM_QEMU_ARGS=$qemu_args \
	"$HERE/vm/run.sh" "${guest[@]}"
[ -s bench/results/kernel.json ] || { echo "bench:kernel: no results" >&2; exit 1; }
# (before the report: its last line is the JSON summary)
if [ -s bench/results/kernel-profile.log ]; then
	cases=()
	for c in ${IPNBUS_BENCH_PROFILE_CASES:-ipn:16 relay:16}; do
		cases+=(--case "$c")
	done
	node bench/kernel/insn-profile.mjs --prof bench/results/kernel-profile.log \
		--kallsyms bench/results/kernel-kallsyms.txt \
		--maps bench/results/kernel-maps.txt \
		--json bench/results/kernel.json "${cases[@]}" |
		tee bench/results/kernel-profile.txt
fi
IPNBUS_LOAD_START=$load_start IPNBUS_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) \
	node bench/kernel/report.mjs bench/results/kernel.json "$accel" "${insns[@]}"
