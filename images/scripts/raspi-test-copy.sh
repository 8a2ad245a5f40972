#!/bin/sh
# raspi-test-copy.sh IMG OUTDIR: makes, from the Raspberry Pi image IMG that
# `make image` built, a copy that boots under qemu-system-aarch64 -M virt with
# the amd64 boot test's pieces added, in OUTDIR:
#   disk.img     a copy of IMG, 1 GiB longer (so the first-boot growroot
#                has a card to grow into), with the boot test's config on its
#                FAT partition (as a technician drops it) and, in its root
#                file system, the in-guest checker (test/boottest and
#                roomkiosk-boottest.service, enabled) and drop-ins that copy
#                the daemon's and the screen's output to the console;
#   vmlinuz, initrd.img   the kernel and initrd the Pi's firmware would load
#                (Debian's linux-image-arm64 from the image's boot partition);
#   cmdline      the image's own cmdline.txt with the Pi's serial console
#                (ttyS1) replaced by the virt board's (ttyAMA0).
# IMG itself is only read: the image users flash stays as built. Everything
# else in the root file system (the package, units, users, Xorg as the
# screen's server, the network and clock setup) is the Pi's, unchanged.
# debugfs, mtools and partx only: no loop device, no mount. Needs no root.
set -eu
img=$1 out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$img" ] || { echo "raspi-test-copy: $img is missing (make image builds it)" >&2; exit 1; }
mkdir -p "$out"
disk=$out/disk.img
rm -f "$disk"
cp --sparse=always "$img" "$disk"
truncate -s +1G "$disk"

# Partition offsets in bytes: 1 is the FAT boot partition, 2 the ext4 root.
part_start() { echo $(($(partx -g -n "$1" -o START "$disk") * 512)); }
fat=$(part_start 1)
root=$(part_start 2)
[ -n "$fat" ] && [ -n "$root" ] || { echo "raspi-test-copy: $disk has no boot and root partitions" >&2; exit 1; }
[ "$(blkid -o value -s LABEL -p -O "$root" "$disk")" = RASPIROOT ] ||
	{ echo "raspi-test-copy: partition 2 of $disk is not RASPIROOT" >&2; exit 1; }

# The kernel, the initrd and the command line, as the firmware reads them.
fatimg="$disk@@$fat"
kernel=$(mdir -b -i "$fatimg" ::/ | sed -n 's|^::/\(vmlinuz-[^ ]*\)$|\1|p' | sort -V | tail -1)
initrd=$(mdir -b -i "$fatimg" ::/ | sed -n 's|^::/\(initrd.img-[^ ]*\)$|\1|p' | sort -V | tail -1)
[ -n "$kernel" ] && [ -n "$initrd" ] || { echo "raspi-test-copy: no vmlinuz-*/initrd.img-* on the boot partition" >&2; exit 1; }
mcopy -o -i "$fatimg" "::/$kernel" "$out/vmlinuz"
mcopy -o -i "$fatimg" "::/$initrd" "$out/initrd.img"
mcopy -o -i "$fatimg" ::/cmdline.txt "$out/cmdline.txt"
tr -s ' \n' '\n' <"$out/cmdline.txt" | grep -v '^console=' | sed '/^$/d' | tr '\n' ' ' >"$out/cmdline"
echo "console=ttyAMA0" >>"$out/cmdline"
rm -f "$out/cmdline.txt"

# The boot test's config, dropped on the card as a technician would.
mcopy -o -i "$fatimg" "$here/test/roomkiosk.toml" ::/roomkiosk.toml
mcopy -o -i "$fatimg" "$here/test/roomkiosk-credentials.toml" ::/roomkiosk-credentials.toml

# The in-guest checker and the console drop-ins (as customize.sh's test
# flavour installs them), written into the root file system with debugfs.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raspi-test-copy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$here/test/boottest" "$tmp/boottest"
install -m 0644 "$here/test/roomkiosk-boottest.service" "$tmp/roomkiosk-boottest.service"
printf '[Service]\nStandardOutput=journal+console\nStandardError=journal+console\n' >"$tmp/boottest.conf"
chmod 0644 "$tmp/boottest.conf"
cat >"$tmp/cmds" <<CMDS
write $tmp/boottest /usr/lib/roomkiosk/boottest
write $tmp/roomkiosk-boottest.service /etc/systemd/system/roomkiosk-boottest.service
symlink /etc/systemd/system/multi-user.target.wants/roomkiosk-boottest.service /etc/systemd/system/roomkiosk-boottest.service
mkdir /etc/systemd/system/roomkiosk.service.d
write $tmp/boottest.conf /etc/systemd/system/roomkiosk.service.d/boottest.conf
mkdir /etc/systemd/system/roomkiosk-screen.service.d
write $tmp/boottest.conf /etc/systemd/system/roomkiosk-screen.service.d/boottest.conf
CMDS
rootimg="$disk?offset=$root"
# debugfs reports a failed request on stderr but exits 0: check each result.
debugfs -w -f "$tmp/cmds" "$rootimg" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
for f in /usr/lib/roomkiosk/boottest /etc/systemd/system/roomkiosk-boottest.service \
	/etc/systemd/system/multi-user.target.wants/roomkiosk-boottest.service \
	/etc/systemd/system/roomkiosk.service.d/boottest.conf /etc/systemd/system/roomkiosk-screen.service.d/boottest.conf; do
	debugfs -R "stat $f" "$rootimg" 2>/dev/null | grep -q '^Inode:' || { cat "$tmp/log" >&2; echo "raspi-test-copy: $f not written" >&2; exit 1; }
done
e2fsck -fn "$rootimg" >"$tmp/fsck" 2>&1 || { cat "$tmp/fsck" >&2; echo "raspi-test-copy: the root file system is not clean after the edit" >&2; exit 1; }
echo "raspi-test-copy: $disk (kernel $kernel, initrd $initrd; cmdline: $(cat "$out/cmdline"))"
