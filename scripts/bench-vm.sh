#!/bin/bash
# bench-vm.sh - npm run bench:vm: `ipnbus bench` on the kernel backend (AF_IPN,
# ipn.ko loaded) inside the test VM, against a dbus-daemon (and dbus-broker
# where it launches) started in that same VM.  Quick matrix by default; any
# arguments go to `ipnbus bench` (e.g. --full).  Writes
# bench/results/kernel-vm/bench.{json,md,svg}; the last line of stdout is
# the bench's JSON summary.
#
# Without KVM the guest runs under TCG, tens of times slower than the host:
# every wait in the bench is stretched by IPNBUS_BENCH_TIME_SCALE (30 under
# TCG, 3 under KVM), and the figures are ratios within the same VM only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"
ipnvm_require bench:vm
cd "$REPO"
accel=$(ipnvm_accel)
scale=30
[ "$accel" = kvm ] && scale=3
mode=(--quick)
for a in "$@"; do
	case $a in --full) mode=() ;; --quick|--smoke) mode=() ;; esac
done
args=()
for a in "$@"; do [ "$a" = --full ] || args+=("$a"); done
out=bench/results/kernel-vm
mkdir -p "$out"
IPNBUS_VM_ACCEL=$accel IPNBUS_VM_MEM=${IPNBUS_VM_MEM:-6144} \
IPNBUS_VM_TIMEOUT=${IPNBUS_VM_TIMEOUT:-5400} \
IPNBUS_BENCH_TIME_SCALE=${IPNBUS_BENCH_TIME_SCALE:-$scale} \
	"$HERE/vm/run.sh" node packages/bus/dist/cli/main.js bench \
	--backend kernel --out "$out" "${mode[@]}" "${args[@]}"
