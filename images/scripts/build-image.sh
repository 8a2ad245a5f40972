#!/bin/sh
# build-image.sh FLAVOR DEB OUTDIR
#   FLAVOR raspi: a Raspberry Pi (arm64) SD-card image OUTDIR/roomkiosk-raspi-arm64.img:
#                 FAT boot partition (firmware, kernel, initrd, device trees,
#                 config.txt, cmdline.txt) and an ext4 root, no loop mounts.
#   FLAVOR test:  the same system for amd64 as OUTDIR/test/{root.ext4,vmlinuz,initrd.img}
#                 for qemu-system-x86_64, with Xvfb instead of Xorg, the sim board
#                 config on /boot/firmware (to go through the import step) and
#                 a unit that checks the services and powers off.
# Debian's tools only: mmdebstrap, mke2fs -d, mkfs.vfat + mcopy, sfdisk. Runs
# as root (mmdebstrap's root mode; the owners in the root file system).
set -eu
flavor=$1 deb=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
. /etc/os-release
suite=${IMAGE_SUITE:-$VERSION_CODENAME}

case $flavor in
raspi)
	arch=arm64
	components="main non-free-firmware"
	packages="linux-image-arm64 raspi-firmware firmware-brcm80211 wireless-regdb wpasupplicant
		xserver-xorg-core xserver-xorg-input-libinput openssh-server systemd-resolved fdisk"
	;;
test)
	arch=amd64
	components="main"
	packages="linux-image-amd64 xvfb xauth"
	;;
*)
	echo "build-image: unknown flavor $flavor (raspi or test)" >&2
	exit 2
	;;
esac
packages="$packages systemd systemd-sysv udev dbus libpam-systemd kmod initramfs-tools
	systemd-timesyncd iproute2 ca-certificates e2fsprogs dosfstools procps
	alsa-utils libgl1-mesa-dri x11-xserver-utils fonts-wqy-microhei"

[ "$(id -u)" = 0 ] || { echo "build-image: run as root (mmdebstrap root mode, file owners)" >&2; exit 1; }
[ -f "$deb" ] || { echo "build-image: package $deb is missing (make deb)" >&2; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

# Foreign architecture: mmdebstrap runs the target's maintainer scripts under
# qemu-user, which needs binfmt_misc (not registered on every build host).
if [ "$arch" != "$(dpkg --print-architecture)" ] && ! arch-test "$arch" >/dev/null 2>&1; then
	[ -f /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	conf=/usr/lib/binfmt.d/qemu-aarch64.conf
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || cat "$conf" >/proc/sys/fs/binfmt_misc/register
	arch-test "$arch" >/dev/null || { echo "build-image: cannot run $arch binaries (qemu-user-static, binfmt_misc)" >&2; exit 1; }
fi

work=$out/$flavor
rootfs=$work/rootfs
# A failed mmdebstrap can leave /proc or /sys mounted in the old root: never
# let rm walk into them.
if [ -d "$work" ]; then
	findmnt -rn -o TARGET | grep "^$(cd "$work" && pwd)/" | sort -r | while read -r m; do umount -l "$m"; done
fi
rm -rf "$work"
mkdir -p "$work"

# The mirror comes from this host's apt configuration, one source an argument.
sources=$("$here/scripts/apt-sources.sh" "$suite" "$components")
set --
while IFS= read -r line; do set -- "$@" "$line"; done <<SOURCES
$sources
SOURCES

# The package's own dependencies go into mmdebstrap's one apt run (the first
# of each alternative unless another is already listed), and the package is
# then installed with dpkg alone: once systemd-resolved is in the new system,
# its resolv.conf no longer works inside the chroot.
for group in $(dpkg-deb -f "$deb" Depends | tr -d ' ' | tr ',' ' '); do
	have=
	for alt in $(echo "$group" | tr '|' ' '); do
		name=${alt%%(*}
		case " $(echo $packages) " in *" $name "*) have=1 ;; esac
	done
	[ -n "$have" ] || packages="$packages ${group%%|*}"
done
include=$(echo $packages | sed 's/([^)]*)//g' | tr ' ' ',')
echo "build-image: mmdebstrap $suite $arch ($flavor) into $rootfs"
mmdebstrap --mode=root --variant=minbase --arch="$arch" \
	--include="$include" \
	--essential-hook='mkdir -p "$1/boot/firmware" "$1/etc/default"' \
	--customize-hook="copy-in $deb /tmp" \
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/'"$(basename "$deb")" \
	--customize-hook='rm -f "$1"/tmp/*.deb' \
	--customize-hook="$here/scripts/customize.sh $flavor \"\$1\"" \
	--customize-hook='chroot "$1" apt-get clean' \
	"$suite" "$rootfs" "$@"

# A root folder with room to spare: the spool grows on the card.
# ext4 fast commits: an fsync (the recorder's, once per 64 KiB age chunk)
# writes one fast-commit block of the inode's changes instead of a whole
# journal transaction of 4 KiB metadata blocks (images/README.md, "What
# the disk takes at the block layer"); the full commit still follows at
# the commit interval. The kernel replays both after a power cut.
# Inode tables zeroed here rather than by the kernel's ext4lazyinit in the
# background of the first boot (about 2 MiB a block group written to the
# card for nothing).
mkroot() { mke2fs -q -t ext4 -O fast_commit -E lazy_itable_init=0 -L RASPIROOT -d "$@"; }
rootsize_mb() { echo $(( $(du -sm "$1" | cut -f1) * 13 / 10 + ${2:-300} )); }

if [ "$flavor" = test ]; then
	t=$work
	cp "$rootfs"/boot/vmlinuz-* "$t/vmlinuz"
	cp "$rootfs"/boot/initrd.img-* "$t/initrd.img"
	# 1.5 GB free (a sparse file): the storage check wants room for a full session.
	mkroot "$rootfs" "$t/root.ext4" "$(rootsize_mb "$rootfs" 1500)M"
	rm -rf "$rootfs"
	echo "build-image: $t/root.ext4 $t/vmlinuz $t/initrd.img"
	exit 0
fi

# --- raspi: boot partition from /boot/firmware, root from the rest ----------
fw=$work/firmware
mv "$rootfs/boot/firmware" "$fw"
mkdir -m 0755 "$rootfs/boot/firmware"
for f in config.txt cmdline.txt; do
	[ -f "$fw/$f" ] || { echo "build-image: raspi-firmware wrote no $f" >&2; exit 1; }
done
ls "$fw"/*.dtb >/dev/null 2>&1 || { echo "build-image: no device trees in /boot/firmware" >&2; exit 1; }
cp "$here/../configs/example.toml" "$fw/roomkiosk.toml.example"

bootmb=512
img=$work/roomkiosk-raspi-arm64.img
rm -f "$work/boot.vfat"
mkfs.vfat -C -F 32 -n RASPIFIRM "$work/boot.vfat" $((bootmb * 1024)) >/dev/null
mcopy -s -i "$work/boot.vfat" "$fw"/* ::
rootmb=$(rootsize_mb "$rootfs" 600)
mkroot "$rootfs" "$work/root.ext4" "${rootmb}M"

# 8 MiB in (erase-block aligned), boot then root; DOS table, as the Pi's
# boot ROM reads it.
start=8
truncate -s $(( (start + bootmb + rootmb + 1) * 1024 * 1024 )) "$img"
sfdisk --quiet "$img" <<TABLE
label: dos
unit: sectors

start=$((start * 2048)), size=$((bootmb * 2048)), type=c, bootable
start=$(((start + bootmb) * 2048)), size=$((rootmb * 2048)), type=83
TABLE
dd if="$work/boot.vfat" of="$img" bs=1M seek=$start conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$img" bs=1M seek=$((start + bootmb)) conv=notrunc,sparse status=none
rm -rf "$rootfs" "$fw" "$work/boot.vfat" "$work/root.ext4"
echo "build-image: $img"
