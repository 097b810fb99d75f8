#!/bin/bash
# bench-kernel.sh - npm run bench:kernel: in the test VM, bench/kernel/fanout
# compares one AF_IPN broadcast with one SOCK_SEQPACKET send per receiver and
# with a relay process, to 1/4/16/64 receivers (arguments: other counts).
# Prints the table, writes bench/results/kernel.{json,md,svg}; the last line
# is a JSON summary, with the host's load average at start and end.
# IPNBUS_FANOUT_REPEAT: runs per case, the median is reported (3).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"
ipnvm_require bench:kernel
cd "$REPO"
mkdir -p bench/kernel/bin bench/results
gcc -O2 -Wall -Wextra -I kernel/include/uapi -o bench/kernel/bin/fanout \
	bench/kernel/fanout.c
rm -f bench/results/kernel.json
accel=$(ipnvm_accel)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
IPNBUS_VM_ACCEL=$accel IPNBUS_VM_QUIET=1 \
	"$HERE/vm/run.sh" bench/kernel/bin/fanout bench/results/kernel.json "$@"
[ -s bench/results/kernel.json ] || { echo "bench:kernel: no results" >&2; exit 1; }
IPNBUS_LOAD_START=$load_start IPNBUS_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) \
	node bench/kernel/report.mjs bench/results/kernel.json "$accel"
