#!/bin/bash
# test-kernel.sh - npm run test:kernel: every kernel-side check.
#   1. the dmesg scan's patterns against sample kernel complaints;
#   2. the build matrix: ipn.ko with W=1 against every installed header
#      tree, failing on any warning (scripts/vm/build-matrix.sh), and the
#      self-test of the bench's instruction-counting qemu plugin in one
#      short VM (scripts/vm/insn-count-test.sh, ~35-45 s under load);
#   3. for every bootable kernel (image in /boot + headers; Debian 12's 6.1
#      and, where installed, 6.12 from bookworm-security) ONE VM with
#      ipn.ko loaded and memory poisoning on: the C tests, the fuzzer
#      (IPNBUS_FUZZ_SECONDS, default 120) and the kernel-backend Node suites
#      (scripts/vm/kernel-suite.sh).  The Node suites ran on 6.1 only until
#      they were found to pass on 6.12 as well: module code differs by
#      kernel version (ipn_compat.h), so they run on every kernel: the
#      module-facing ones (transport, *.kernel, core, churn, limits, many
#      rules) everywhere, the rest on the first kernel only
#      (IPNBUS_TEST_KERNEL_REPEAT=1 after it; vitest.kernel.config.ts).
# Without qemu / Debian's kernel image / headers: a one-line notice and
# success, unless IPNBUS_REQUIRE_KERNEL_TESTS=1 (then it fails, saying why).
#
# Knobs: IPNBUS_TEST_KERNELS  kernel ABIs to boot (default: every bootable)
#        IPNBUS_TEST_NODE_KERNELS  where the Node suites run: all | first
#                                  (the oldest kernel only) | none (all)
# The last line sums the C tests and fuzzer over all kernels,
# "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vm/lib.sh
. "$HERE/vm/lib.sh"

ipnvm_test_require test:kernel
# The suite (fuzzer + Node suites) needs more than run.sh's default.
export IPNBUS_VM_TIMEOUT=${IPNBUS_VM_TIMEOUT:-1800}
T0=$(date +%s)
rc=0 passed=0 failed=0
verdicts=()

if ! "$HERE/vm/dmesg-scan-test.sh"; then
	rc=1
	verdicts+=("dmesg scan self-test FAILED")
fi
if ! "$HERE/vm/build-matrix.sh"; then
	rc=1
	verdicts+=("build matrix FAILED (W=1 warnings or errors above)")
fi
t0=$(date +%s)
if "$HERE/vm/insn-count-test.sh"; then
	verdicts+=("instruction-count plugin self-test passed, $(($(date +%s) - t0)) s")
else
	rc=1
	verdicts+=("instruction-count plugin self-test FAILED (above)")
fi

read -r -a kernels <<<"${IPNBUS_TEST_KERNELS:-$(ipnvm_bootable_kvers | tr '\n' ' ')}"
log=$(mktemp /tmp/ipnbus-test-kernel.XXXXXX)
trap 'rm -f "$log"' EXIT
first=1
for k in "${kernels[@]}"; do
	args=()
	case ${IPNBUS_TEST_NODE_KERNELS:-all} in
	first) [ $first = 1 ] || args=(--no-node) ;;
	none) args=(--no-node) ;;
	esac
	# after the first kernel the Node suites run only the module-facing
	# files (vitest.kernel.config.ts says which and why)
	# (vitest.kernel.config.ts says which and why)
	repeat=$((1 - first))
	first=0
	t0=$(date +%s)
	echo "test:kernel: ===== $k ====="
	IPNBUS_TEST_KERNEL_REPEAT=$repeat IPNBUS_VM_KVER=$k "$HERE/vm/run.sh" bash scripts/vm/kernel-suite.sh \
		"${args[@]}" 2>&1 | tee "$log"
	st=${PIPESTATUS[0]}
	summary=$(grep -a '^IPN_C_SUMMARY ' "$log" | tail -n 1 |
		sed 's/^IPN_C_SUMMARY //')
	[[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] ||
		summary="0 passed, 1 failed"
	[[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]
	passed=$((passed + BASH_REMATCH[1]))
	failed=$((failed + BASH_REMATCH[2]))
	[ "$st" = 0 ] || rc=1
	verdicts+=("$k: VM status $st; C+fuzz $summary; $(grep -a -m1 -E '^ipnvm: (dmesg clean|DMESG NOT CLEAN)' "$log" || echo 'no dmesg verdict'); $(($(date +%s) - t0)) s${args[*]:+ (Node suites not run here)}")
done
[ ${#kernels[@]} -gt 0 ] || { rc=1; verdicts+=("no bootable kernel"); }
for v in "${verdicts[@]}"; do echo "test:kernel: $v"; done
echo "test:kernel: total $(($(date +%s) - T0)) s"
echo "$passed passed, $failed failed"
exit $rc
