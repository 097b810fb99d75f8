#!/bin/bash
# fuzz-kernel.sh - npm run fuzz:kernel [-- --minutes N] [--seed N]
#   [--workers N] [--threads N] [--worker-seed N] [--kernel KVER]
# Runs the AF_IPN fuzzer (kernel/test/ipn_fuzz.c) in the test VM for N
# minutes (default 10) with memory poisoning on; fails on a kernel
# complaint in dmesg, a hung worker, a broken invariant or a module that
# will not unload.  The seed is printed first; pass it back with --seed to
# replay the same operation sequences.  --kernel picks the kernel ABI
# (default: linux-image-amd64's; IPNBUS_VM_KVER works too).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"

minutes=10
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift 2 ;;
	--kernel) export IPNBUS_VM_KVER=$2; shift 2 ;;
	--seed|--workers|--threads|--worker-seed|--hang-secs)
		args+=("$1" "$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "fuzz:kernel: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] ||
	{ echo "fuzz:kernel: --minutes wants a number, got '$minutes'" >&2; exit 2; }
ipnvm_require fuzz:kernel
secs=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
# boot, build and the workers' wind-down on top of the budget
export IPNBUS_VM_TIMEOUT=${IPNBUS_VM_TIMEOUT:-$((secs + 600))}
exec "$HERE/vm/run.sh" kernel/test/bin/ipn_fuzz --seconds "$secs" "${args[@]}"
