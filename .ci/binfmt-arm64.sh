#!/bin/sh
# Makes sure this amd64 host runs arm64 programs that another program
# executes (not only those started through `go test -exec qemu-aarch64`):
# tests that re-execute their own binary as a child (a crash-and-recover
# child, for one) need the kernel's binfmt_misc to hand arm64 ELF files to
# qemu-user. Debian's qemu-user-static registers it through systemd-binfmt;
# hosts without systemd (containers, microVMs) need it done by hand, as root.
set -eu
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && exit 0
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
[ -f "$conf" ] || { echo "binfmt-arm64: $conf is missing (Debian package qemu-user-static)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
	echo "binfmt-arm64: arm64 binaries are not registered with binfmt_misc; as root: cat $conf >/proc/sys/fs/binfmt_misc/register" >&2
	exit 1
fi
[ -f /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
cat "$conf" >/proc/sys/fs/binfmt_misc/register
echo "binfmt-arm64: registered qemu-aarch64 with binfmt_misc"
