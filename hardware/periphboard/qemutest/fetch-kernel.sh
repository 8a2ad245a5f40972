#!/bin/sh
# Prints the path of an arm64 Linux kernel image for the GPIO test VM,
# fetching Debian's linux-image-arm64 into DIR (default .dev/qemu-arm64) the
# first time. It uses a private apt state so the machine's own apt
# configuration (architectures, lists) is left untouched, and the mirrors
# the machine's apt sources already name.
set -eu
DIR=${1:-.dev/qemu-arm64}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -f "$DIR/vmlinuz" ]; then
	echo "$DIR/vmlinuz"
	exit 0
fi
A="$DIR/apt"
mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d" "$A/dl"
cp /etc/apt/sources.list.d/*.sources "$A/etc/sources.list.d/" 2>/dev/null || true
cp /etc/apt/sources.list.d/*.list "$A/etc/sources.list.d/" 2>/dev/null || true
if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$A/etc/sources.list"; else : > "$A/etc/sources.list"; fi
set -- -o Dir::State="$A/state" -o Dir::Cache="$A/cache" \
	-o Dir::Etc::SourceParts="$A/etc/sources.list.d" -o Dir::Etc::SourceList="$A/etc/sources.list" \
	-o Dir::State::status=/dev/null -o APT::Architecture=arm64 -o APT::Architectures=arm64 \
	-o APT::Sandbox::User=root
apt-get "$@" -q update >&2
pkg=$(apt-cache "$@" depends linux-image-arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image-arm64 dependency found" >&2; exit 1; }
(cd "$A/dl" && apt-get "$@" -q download "$pkg" >&2)
rm -rf "$A/x"
dpkg-deb -x "$A/dl/${pkg}"_*.deb "$A/x"
cp "$A"/x/boot/vmlinuz-* "$DIR/vmlinuz"
rm -rf "$A/x" "$A/dl" "$A/cache"
echo "$DIR/vmlinuz"
