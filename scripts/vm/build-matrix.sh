#!/bin/bash
# build-matrix.sh - build ipn.ko with W=1 against every installed kernel
# header tree (/lib/modules/*/build), or the trees given as arguments
# (a kernel ABI or a build directory), and fail on any compiler warning.
#
# Usage: scripts/vm/build-matrix.sh [KVER|BUILD_DIR ...]
#
# Each kernel builds in its own copy of kernel/ under
# $IPNBUS_VM_WORK/matrix/<name> (default /tmp/ipnbus-vm), so the checkout's
# objects (the VM's) are left alone and rebuilds are incremental.
# Prints one line per kernel, "build-matrix: <name>: ok" or what failed;
# exit status 0 only if every build was clean.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
WORK=${IPNBUS_VM_WORK:-/tmp/ipnbus-vm}

trees=("$@")
if [ ${#trees[@]} = 0 ]; then
	mapfile -t trees < <(ipnvm_header_kvers)
fi
if [ ${#trees[@]} = 0 ]; then
	echo "build-matrix: no kernel headers installed (apt-get install linux-headers-amd64)" >&2
	exit 1
fi

rc=0
for t in "${trees[@]}"; do
	if [ -d "$t" ]; then
		kbuild=$(cd "$t" && pwd) name=$(basename "$(dirname "$kbuild")")
		[ "$(basename "$kbuild")" = build ] || name=$(basename "$kbuild")
	else
		kbuild=/lib/modules/$t/build name=$t
	fi
	if [ ! -f "$kbuild/Makefile" ]; then
		echo "build-matrix: $name: no header tree at $kbuild"
		rc=1
		continue
	fi
	dir=$WORK/matrix/$name
	mkdir -p "$dir"
	# Only the module's sources, and only those that changed, so that
	# make rebuilds what it must.
	(cd "$REPO/kernel" && for f in Kbuild ./*.c ./*.h include/uapi/linux/*.h; do
		cmp -s "$f" "$dir/$f" || cp --parents "$f" "$dir/"
	done)
	log=$dir/build.log
	t0=$(date +%s)
	if ! make -C "$kbuild" M="$dir" W=1 modules >"$log" 2>&1; then
		echo "build-matrix: $name: BUILD FAILED"
		grep -E 'error|warning' "$log" | head -20
		rc=1
		continue
	fi
	if grep -qE 'warning:|error:' "$log"; then
		echo "build-matrix: $name: WARNINGS (W=1):"
		grep -E -A3 'warning:|error:' "$log" | head -30
		rc=1
		continue
	fi
	echo "build-matrix: $name: ok (W=1, no warnings, $(($(date +%s) - t0)) s)"
done
exit $rc
