#!/bin/sh
# check-raspi-image.sh IMG: static test of the Raspberry Pi SD-card image,
# run on the (amd64) build host without mounting anything: the partition
# table, the boot partition's firmware, kernel, initrd, config.txt, cmdline.txt
# and device trees (mtools), and the root file system's kiosk services and
# arm64 binaries (debugfs).
set -eu
img=$1
[ -f "$img" ] || { echo "check-raspi-image: $img is missing (make image)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roomkiosk-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "check-raspi-image: ok   $1"; passed=$((passed + 1)); }
bad() { echo "check-raspi-image: FAIL $1" >&2; failed=$((failed + 1)); }
check() { # check WHAT COMMAND...
	what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

# --- partition table: DOS, FAT32 (0c, bootable) then Linux (83) -------------
sfdisk --dump "$img" >"$tmp/table" 2>/dev/null || true
check "DOS partition table" grep -q '^label: dos' "$tmp/table"
p1=$(grep "^$img""1 " "$tmp/table" || true)
p2=$(grep "^$img""2 " "$tmp/table" || true)
field() { echo "$1" | sed -n "s/.*[ :,]$2= *\([^, ]*\).*/\1/p"; }
check "partition 1 is FAT32 LBA (type c), bootable" sh -c "echo '$p1' | grep -q 'type=c' && echo '$p1' | grep -q bootable"
check "partition 2 is Linux (type 83)" sh -c "echo '$p2' | grep -q 'type=83'"
check "no third partition" sh -c "! grep -q '^$img""3 ' '$tmp/table'"
s1=$(field "$p1" start) n1=$(field "$p1" size) s2=$(field "$p2" start) n2=$(field "$p2" size)
check "partition 1 starts 4 MiB aligned" test $((s1 % 8192)) = 0
check "partition 2 follows partition 1" test "$s2" -ge $((s1 + n1))
check "partitions inside the image" test $(((s2 + n2) * 512)) -le "$(stat -c %s "$img")"

# --- boot partition (FAT) ---------------------------------------------------
boot="$img@@$((s1 * 512))"
mdir -i "$boot" -b -/ :: >"$tmp/bootfiles" 2>/dev/null || true
sed -i 's|^::/||' "$tmp/bootfiles"
has() { grep -qx "$1" "$tmp/bootfiles"; }
check "boot partition label RASPIFIRM" sh -c "minfo -i '$boot' :: | grep -q 'label=\"RASPIFIRM'"
for f in config.txt cmdline.txt start4.elf fixup4.dat bootcode.bin start.elf fixup.dat; do
	check "boot: $f" has "$f"
done
check "boot: a kernel (vmlinuz-*)" grep -q '^vmlinuz-' "$tmp/bootfiles"
check "boot: an initrd (initrd.img-*)" grep -q '^initrd.img-' "$tmp/bootfiles"
for dtb in bcm2711-rpi-4-b.dtb bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb bcm2711-rpi-400.dtb bcm2710-rpi-zero-2-w.dtb bcm2837-rpi-zero-2-w.dtb; do
	has "$dtb" && ok "boot: device tree $dtb" || echo "check-raspi-image: note no $dtb"
done
check "boot: device tree for the Pi 4" has bcm2711-rpi-4-b.dtb
mtype -i "$boot" ::config.txt >"$tmp/config.txt" 2>/dev/null || true
mtype -i "$boot" ::cmdline.txt >"$tmp/cmdline.txt" 2>/dev/null || true
check "config.txt: 64-bit kernel" grep -q '^arm_64bit=1' "$tmp/config.txt"
check "config.txt: names the kernel" grep -q '^kernel=vmlinuz-' "$tmp/config.txt"
check "config.txt: names the initrd" grep -q '^initramfs initrd.img-' "$tmp/config.txt"
k=$(sed -n 's/^kernel=//p' "$tmp/config.txt" | head -1)
i=$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' "$tmp/config.txt" | head -1)
check "config.txt: its kernel $k is on the partition" has "$k"
check "config.txt: its initrd $i is on the partition" has "$i"
check "config.txt: roomkiosk's settings" grep -q '^# roomkiosk' "$tmp/config.txt"
check "config.txt: I2C on" grep -q "^dtparam=i2c_arm=on" "$tmp/config.txt"
check "cmdline.txt: a serial console" grep -q "console=ttyS1,115200" "$tmp/cmdline.txt"
check "cmdline.txt: root=LABEL=RASPIROOT" grep -q 'root=LABEL=RASPIROOT' "$tmp/cmdline.txt"
check "cmdline.txt: no console blanking" grep -q 'consoleblank=0' "$tmp/cmdline.txt"
check "boot: example config for the technician" has roomkiosk.toml.example

# --- root file system (ext4) ------------------------------------------------
dd if="$img" of="$tmp/root.ext4" bs=512 skip="$s2" count="$n2" conv=sparse status=none
check "root file system label RASPIROOT" sh -c "dumpe2fs -h '$tmp/root.ext4' 2>/dev/null | grep -q 'volume name: *RASPIROOT'"
check "root file system has ext4 fast commits" sh -c "dumpe2fs -h '$tmp/root.ext4' 2>/dev/null | grep -q '^Filesystem features:.* fast_commit'"
dbg() { debugfs -R "$1" "$tmp/root.ext4" 2>/dev/null; }
exists() { dbg "stat $1" | grep -q 'Inode:'; }
for f in /usr/bin/roomkiosk /usr/bin/roomkiosk-screen /usr/bin/roomctl \
	/lib/systemd/system/roomkiosk.service /lib/systemd/system/roomkiosk-screen.service \
	/lib/systemd/system/roomkiosk-import-config.service \
	/etc/systemd/system/multi-user.target.wants/roomkiosk.service \
	/etc/systemd/system/multi-user.target.wants/roomkiosk-screen.service \
	/etc/systemd/system/multi-user.target.wants/roomkiosk-import-config.service \
	/etc/roomkiosk/roomkiosk.toml.example /usr/bin/Xorg /usr/bin/xset /boot/firmware \
	/etc/systemd/system/multi-user.target.wants/roomkiosk-growroot.service /usr/lib/roomkiosk/growroot \
	/etc/modules-load.d/roomkiosk.conf \
	/var/lib/roomkiosk/spool; do
	check "root: $f" exists "$f"
done
dbg "dump /usr/bin/roomkiosk $tmp/roomkiosk" >/dev/null
# ELF e_machine (offset 18, little-endian): 0xb7 is AArch64.
check "root: roomkiosk is an AArch64 binary" test "$(od -An -tx1 -j18 -N2 "$tmp/roomkiosk" 2>/dev/null | tr -d ' ')" = b700
dbg "cat /etc/fstab" >"$tmp/fstab"
check "root: fstab mounts LABEL=RASPIROOT on /" grep -q '^LABEL=RASPIROOT *\/ ' "$tmp/fstab"
check "root: fstab mounts LABEL=RASPIFIRM on /boot/firmware" grep -q '^LABEL=RASPIFIRM *\/boot\/firmware ' "$tmp/fstab"
dbg "cat /etc/passwd" >"$tmp/passwd"
dbg "cat /etc/group" >"$tmp/group"
check "root: user roomkiosk" grep -q '^roomkiosk:' "$tmp/passwd"
check "root: user roomkiosk-screen" grep -q '^roomkiosk-screen:' "$tmp/passwd"
for g in gpio i2c audio video; do
	check "root: roomkiosk in group $g" grep -Eq "^$g:[^:]*:[^:]*:(.*,)?roomkiosk(,|$)" "$tmp/group"
done
check "root: journald keeps its journal in memory" sh -c "debugfs -R 'cat /etc/systemd/journald.conf.d/roomkiosk.conf' '$tmp/root.ext4' 2>/dev/null | grep -q '^Storage=volatile'"
check "root: spool is mode 0700" sh -c "debugfs -R 'stat /var/lib/roomkiosk/spool' '$tmp/root.ext4' 2>/dev/null | grep -q 'Mode:  *0700'"

echo "check-raspi-image: $passed passed, $failed failed"
[ "$failed" = 0 ]
