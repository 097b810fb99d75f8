#!/bin/bash
# test-kernel.sh - npm run test:kernel: boot ONE VM with ipn.ko loaded and run
# every kernel-side test in it (C tests, then the kernel-backend Node suites).
# Without qemu / Debian's kernel image / headers: a one-line notice and
# success, unless IPNBUS_REQUIRE_KERNEL_TESTS=1 (then it fails, saying why).
# The last line is the C tests' summary, "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"

if ! why=$(ipnvm_missing); then
	if [ "${IPNBUS_REQUIRE_KERNEL_TESTS:-0}" = 1 ]; then
		echo "test:kernel: cannot run the kernel tests: $why" >&2
		exit 1
	fi
	echo "test:kernel: skipped ($why); IPNBUS_REQUIRE_KERNEL_TESTS=1 makes this an error"
	exit 0
fi

log=$(mktemp /tmp/ipnbus-test-kernel.XXXXXX)
trap 'rm -f "$log"' EXIT
"$HERE/vm/run.sh" bash scripts/vm/kernel-suite.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -a '^IPN_C_SUMMARY ' "$log" | tail -n 1 | sed 's/^IPN_C_SUMMARY //')
echo "test:kernel: VM status $rc; $(grep -a -m1 -E '^ipnvm: (dmesg clean|DMESG NOT CLEAN)' "$log" || echo 'no dmesg verdict')"
echo "${summary:-0 passed, 1 failed}"
exit "$rc"
