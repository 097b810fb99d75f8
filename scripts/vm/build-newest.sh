#!/bin/bash
# build-newest.sh - build ipn.ko with W=1 against the newest kernel headers
# Debian ships (trixie-backports; sid is also searched and reported), and
# fail on any warning.  On demand, not part of npm test: it downloads a
# Debian 13 chroot (~300 MB) the first time.
#
# Why a chroot: those headers' host tools (modpost, objtool) need glibc
# 2.38 and their flags need gcc 14; Debian 12 has glibc 2.36 and gcc 12.
# So a minimal trixie chroot made with debootstrap, with gcc-14 and the
# headers installed by its own apt, builds the complete module (modpost
# included), exactly as a Debian 13 user would.
#
# Debian suites are reached by copying this machine's own apt sources entry
# (/etc/apt/sources.list.d/debian.sources, or the first "deb" line of
# /etc/apt/sources.list) and changing only its suites; no archive address
# is written anywhere in the repository.
#
# Usage: scripts/vm/build-newest.sh [HEADERS-PACKAGE]
#   IPNBUS_NEWEST_CACHE   chroot and logs          (/var/cache/ipnbus-newest)
# Needs root and debootstrap (apt-get install debootstrap).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${IPNBUS_NEWEST_CACHE:-/var/cache/ipnbus-newest}
ROOT=$CACHE/trixie
SUITES_IN_CHROOT="trixie trixie-backports"
say() { printf '[newest] %s\n' "$*" >&2; }
die() { printf '[newest] ERROR: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "apt-get install debootstrap"

# The machine's Debian entry with its Suites replaced by "$1".
derived_entry() {
	local f=/etc/apt/sources.list.d/debian.sources
	if [ -r "$f" ]; then
		awk -v RS= -v ORS='\n\n' '/(^|\n)Types:[^\n]*deb/ && /(^|\n)URIs:/ &&
			!/Suites:[^\n]*-security/ { print; exit }' "$f" |
			sed "s/^Suites:.*/Suites: $1/"
	elif [ -r /etc/apt/sources.list ]; then
		# one-line format: "deb URI SUITE COMPONENTS..."
		awk -v suites="$1" '$1 == "deb" && $2 !~ /^\[/ && $3 !~ /-security/ {
			n = split(suites, s, " ")
			for (i = 1; i <= n; i++) { $3 = s[i]; print }
			exit }' /etc/apt/sources.list
	fi
}
mirror=$(derived_entry trixie | sed -n 's/^URIs: *\([^ ]*\).*/\1/p')
[ -n "$mirror" ] ||
	mirror=$(derived_entry trixie | awk '$1 == "deb" { print $2; exit }')
[ -n "$mirror" ] || die "no Debian entry in this machine's apt sources"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -e "$ROOT/.ipnbus-ready" ]; then
	say "creating a Debian 13 chroot in $ROOT (once)"
	rm -rf "$ROOT"
	debootstrap --variant=minbase --include=make,gcc-14,libc6-dev \
		trixie "$ROOT" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -f "$ROOT/etc/apt/sources.list"
	derived_entry "$SUITES_IN_CHROOT" >"$ROOT/etc/apt/sources.list.d/debian.sources"
	[ -s "$ROOT/etc/apt/sources.list.d/debian.sources" ] ||
		derived_entry "$SUITES_IN_CHROOT" >"$ROOT/etc/apt/sources.list"
	touch "$ROOT/.ipnbus-ready"
fi
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -qq >"$CACHE/apt.log" 2>&1 ||
	{ tail "$CACHE/apt.log" >&2; die "apt-get update in the chroot failed"; }

# The newest amd64 headers the chroot's suites offer.
pkg=${1:-$(in_root apt-cache search --names-only '^linux-headers-[0-9].*-amd64$' |
	awk '{ print $1 }' | grep -vE -- '-(rt|cloud)-amd64$' | sort -V | tail -1)}
[ -n "$pkg" ] || die "no linux-headers-*-amd64 package found"
say "headers: $pkg (the newest in $SUITES_IN_CHROOT unless given)"
in_root apt-get install -y -q --no-install-recommends "$pkg" >>"$CACHE/apt.log" 2>&1 ||
	{ tail "$CACHE/apt.log" >&2; die "cannot install $pkg in the chroot"; }
kver=${pkg#linux-headers-}

dir=$ROOT/build/ipn
rm -rf "$dir"
mkdir -p "$dir"
(cd "$REPO/kernel" && cp --parents Kbuild ./*.c ./*.h include/uapi/linux/*.h "$dir/")
log=$CACHE/build-$kver.log
# objtool reads /proc
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
if ! in_root make -C "/lib/modules/$kver/build" M=/build/ipn W=1 modules >"$log" 2>&1; then
	grep -E 'error|warning' "$log" | head -30 >&2
	die "ipn.ko does not build against $kver (log: $log)"
fi
if grep -qE 'warning:|error:' "$log"; then
	grep -E -A3 'warning:|error:' "$log" | head -40 >&2
	die "ipn.ko builds with W=1 warnings against $kver (log: $log)"
fi
say "ipn.ko: W=1 build against $kver ok (modpost included), no warnings"
