#!/bin/bash
# kernel-suite.sh - run inside the test VM by scripts/test-kernel.sh: every
# C test of kernel/test, then the kernel-backend Node suites if the repo has
# vitest.kernel.config.ts.  Prints "IPN_C_SUMMARY N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
rc=0 passed=0 failed=0
for t in ipn_test ipn_stress ipn_fds ipn_limits; do
	echo "=== kernel/test/bin/$t"
	out=/tmp/$t.out
	"kernel/test/bin/$t" | tee "$out"
	status=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
	else
		echo "=== $t ended without a summary (status $status)"
		failed=$((failed + 1))
	fi
	[ "$status" = 0 ] || rc=1
done
echo "IPN_C_SUMMARY $passed passed, $failed failed"
if [ -f vitest.kernel.config.ts ]; then
	echo "=== vitest --config vitest.kernel.config.ts (IPNBUS_TEST_BACKEND=kernel)"
	# through a pipe: the serial console is a tty, and vitest would
	# redraw its progress display there line after line
	IPNBUS_TEST_BACKEND=kernel node node_modules/vitest/vitest.mjs run \
		--config vitest.kernel.config.ts 2>&1 | cat
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
exit $rc
