#!/bin/bash
# checkpatch-kernel.sh - npm run lint:kernel: the kernel's checkpatch.pl
# --strict over kernel/*.c kernel/*.h (generated *.mod.c left out).
#
# checkpatch.pl comes from IPNBUS_CHECKPATCH, a kernel tree under /usr/src,
# or Debian's linux-source package (/usr/src/linux-source-*.tar.xz): the
# three files it needs are extracted once into $IPNBUS_VM_WORK/checkpatch.
#
# The message types kernel/README.md ("checkpatch") justifies for this
# out-of-tree module are ignored: LINUX_VERSION_CODE and
# CONSTANT_COMPARISON (the version tests of ipn_compat.h), EMBEDDED_FILENAME
# (the project's rule that every file starts by naming what it is).
# Exit status 0 when nothing else is reported.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
WORK=${IPNBUS_VM_WORK:-/tmp/ipnbus-vm}
IGNORE=LINUX_VERSION_CODE,CONSTANT_COMPARISON,EMBEDDED_FILENAME

find_checkpatch() {
	local c tarball
	if [ -n "${IPNBUS_CHECKPATCH:-}" ]; then
		echo "$IPNBUS_CHECKPATCH"
		return
	fi
	for c in /usr/src/linux-*/scripts/checkpatch.pl \
		/var/cache/ipnbus-kdebug/linux-source-*/scripts/checkpatch.pl \
		"$WORK"/checkpatch/*/scripts/checkpatch.pl; do
		[ -f "$c" ] && { echo "$c"; return; }
	done
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
	[ -n "$tarball" ] || return 1
	mkdir -p "$WORK/checkpatch"
	tar -xJf "$tarball" -C "$WORK/checkpatch" --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' >&2
	ls "$WORK"/checkpatch/*/scripts/checkpatch.pl | head -1
}
cp=$(find_checkpatch) ||
	{ echo "lint:kernel: no checkpatch.pl (apt-get install linux-source, or set IPNBUS_CHECKPATCH)" >&2; exit 1; }
cd "$REPO/kernel"
files=$(ls ./*.c ./*.h | grep -v '\.mod\.c$')
# shellcheck disable=SC2086
perl "$cp" --strict --no-tree --terse --show-types --ignore "$IGNORE" -f $files
