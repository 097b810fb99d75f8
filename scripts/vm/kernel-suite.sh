#!/bin/bash
# kernel-suite.sh - run inside the test VM by scripts/test-kernel.sh: every
# C test of kernel/test (PROGS in its Makefile), the AF_IPN fuzzer for a
# fixed budget, then the kernel-backend Node suites if the repo has
# vitest.kernel.config.ts.
# Prints "IPN_C_SUMMARY N passed, M failed" (C tests and fuzzer).
#
# Usage: kernel-suite.sh [--no-node | --node-only]
#   --node-only          the Node suites alone (test:kernel:debug --node-only)
#   IPNBUS_FUZZ_SECONDS  the fuzzer's budget                     (120)
#   IPNBUS_FUZZ_SEED     its seed (default: a new one, printed)
set -u
cd "$(dirname "$0")/../.." || exit 1
node_suites=1 c_tests=1
[ "${1:-}" = --no-node ] && node_suites=0
[ "${1:-}" = --node-only ] && c_tests=0
rc=0 passed=0 failed=0
fuzz=(kernel/test/bin/ipn_fuzz --seconds "${IPNBUS_FUZZ_SECONDS:-120}")
[ -n "${IPNBUS_FUZZ_SEED:-}" ] && fuzz+=(--seed "$IPNBUS_FUZZ_SEED")
run_c() {
	local name=$1 out status last
	shift
	echo "=== $*"
	out=/tmp/$name.out
	"$@" | tee "$out"
	status=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
	else
		echo "=== $name ended without a summary (status $status)"
		failed=$((failed + 1))
	fi
	[ "$status" = 0 ] || rc=1
}
# Every test program of kernel/test/Makefile (PROGS), in its order; the
# fuzzer, which takes arguments, last.
if [ $c_tests = 1 ]; then
	for t in $(sed -n 's/^PROGS *:= *//p' kernel/test/Makefile); do
		name=$(basename "$t")
		[ "$name" = ipn_fuzz ] || run_c "$name" "kernel/test/$t"
	done
	run_c ipn_fuzz "${fuzz[@]}"
	echo "IPN_C_SUMMARY $passed passed, $failed failed"
fi
if [ $node_suites = 1 ] && [ -f vitest.kernel.config.ts ]; then
	echo "=== vitest --config vitest.kernel.config.ts (IPNBUS_TEST_BACKEND=kernel)"
	# through a pipe: the serial console is a tty, and vitest would
	# redraw its progress display there line after line
	IPNBUS_TEST_BACKEND=kernel node node_modules/vitest/vitest.mjs run \
		--config vitest.kernel.config.ts 2>&1 | cat
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
exit $rc
