#!/bin/bash
# insn-count-test.sh - self-test of the instruction-counting qemu plugin
# (bench/kernel/insn-count.c): boots the test VM with the plugin, runs
# bench/kernel/bin/insn-selftest there, and checks every window the plugin
# reported against the range the guest program printed for it (an 8-insn
# loop of ITERS iterations within 3%, twice as many, the same loop on both
# vCPUs at once, system calls whose kernel side must be counted).
# The plugin runs in profile mode (profile=PROF, which counts through the
# same per-vCPU counters): each window's profile must add up to its count
# (within 0.5% + 2,000), and the loop windows must put at least 95% of
# their instructions on one block address, the loop's.
# Fails if the plugin does not build or load, a window is missing or out of
# range, or the plugin logged an error.  Prints each window's count and its
# deviation from the expected centre.
#
# Usage: scripts/vm/insn-count-test.sh [ITERS]   (default 10000000)
# Without qemu / Debian's kernel: a notice and success, unless
# IPNBUS_REQUIRE_KERNEL_TESTS=1.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

ipnvm_test_require insn-count-test
make -s -C "$REPO/bench/kernel" bin/insn-count.so bin/insn-selftest
tmp=$(mktemp -d /tmp/ipnbus-insn-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
set +e
# (no slab debugging: nothing here tests ipn.ko, and the boot is faster)
IPNBUS_VM_QUIET=1 IPNBUS_VM_MEMDEBUG=0 \
IPNBUS_VM_QEMU_ARGS="-plugin $REPO/bench/kernel/bin/insn-count.so,out=$tmp/windows,profile=$tmp/profile" \
	"$HERE/run.sh" bench/kernel/bin/insn-selftest "$@" | tee "$tmp/guest"
st=${PIPESTATUS[0]}
set -e
echo "insn-count-test: plugin output:"
sed 's/^/  /' "$tmp/windows" 2>/dev/null || echo "  (none)"
if [ "$st" != 0 ]; then
	echo "insn-count-test: FAILED: the VM run ended with status $st" >&2
	exit 1
fi
# Every "expect SEQ LOW HIGH what" of the guest against "window SEQ insns N".
touch "$tmp/windows"
touch "$tmp/profile"
awk -v windows="$tmp/windows" -v profile="$tmp/profile" '
	FILENAME == windows && $1 == "window" { got[$2] = $4; next }
	FILENAME == windows && $1 == "error:" { print "insn-count-test: plugin " $0; bad = 1; next }
	FILENAME == windows && $1 == "total" { total = 1; next }
	FILENAME == windows { next }
	FILENAME == profile && $1 == "window" { pw = $2; delete acc; next }
	FILENAME == profile && $1 == "end" {
		plost[pw] = $4; psum[pw] += 0
		for (a in acc) { psum[pw] += acc[a]; pn[pw]++; if (acc[a] > ptop[pw]) ptop[pw] = acc[a] }
		next
	}
	FILENAME == profile { acc[$1] += $2; next }
	$1 == "insn-selftest:" && $2 == "expect" {
		n++
		what = $6; for (i = 7; i <= NF; i++) what = what " " $i
		if ($6 == "loop") loopwin[$3] = 1
		if (!($3 in got)) {
			printf "insn-count-test: window %d (%s): not reported\n", $3, what
			bad = 1; next
		}
		mid = ($4 + $5) / 2
		ok = got[$3] >= $4 && got[$3] <= $5
		# the deviation from the centre, for the tight ranges
		dev = $4 > 0 && $5 / $4 < 1.1 ? sprintf(" (%+.2f%% from %d)", (got[$3] - mid) * 100 / mid, mid) : ""
		printf "insn-count-test: window %d (%s): %d insns, expected %d..%d%s %s\n", \
			$3, what, got[$3], $4, $5, dev, ok ? "ok" : "OUT OF RANGE"
		if (!ok) bad = 1
	}
	END {
		for (w in got) {
			if (!(w in psum)) {
				printf "insn-count-test: window %d: no profile\n", w
				bad = 1; continue
			}
			d = psum[w] - got[w]; if (d < 0) d = -d
			top = ptop[w] * 100 / (psum[w] ? psum[w] : 1)
			printf "insn-count-test: window %d profile: %d insns over %d block addresses (%.1f%% at the top one), %d lost%s\n", \
				w, psum[w], pn[w], top, plost[w], d <= got[w] / 200 + 2000 ? "" : " DOES NOT ADD UP"
			if (d > got[w] / 200 + 2000) bad = 1
			if (w in loopwin && top < 95) {
				printf "insn-count-test: window %d: the loop is not one block address\n", w
				bad = 1
			}
		}
		if (n < 5) { print "insn-count-test: the guest printed " n " of 5 expectations"; bad = 1 }
		if (!total) { print "insn-count-test: no exit line from the plugin (did qemu load it?)"; bad = 1 }
		exit bad
	}' "$tmp/windows" "$tmp/profile" "$tmp/guest" || {
	echo "insn-count-test: FAILED ($(($(date +%s) - t0)) s)" >&2
	exit 1
}
echo "insn-count-test: passed ($(($(date +%s) - t0)) s)"
