#!/bin/sh
# customize.sh FLAVOR ROOT: mmdebstrap customize step, run on the build host
# with the new system at ROOT (after the roomkiosk package is installed).
set -eu
flavor=$1 root=$2
here=$(cd "$(dirname "$0")/.." && pwd)

echo roomkiosk >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\troomkiosk\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# A new machine id on first boot (every kiosk its own journal and DHCP id).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# The system journal in memory only (/run): on the card it cost about 0.8 KB
# a second while recording and a metadata commit a minute at rest
# (images/README.md). What must outlive a power cut is the daemon's own:
# recordings, the maintenance log and the status, fsync'ed in its spool and
# uploaded. The logs of the boot before a cut are lost with it.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' >"$root/etc/systemd/journald.conf.d/roomkiosk.conf"
rm -rf "$root/var/log/journal"

# Services: the daemon, the screen and the config import; the clock.
chroot "$root" systemctl enable roomkiosk.service roomkiosk-screen.service \
	roomkiosk-import-config.service systemd-timesyncd.service
chroot "$root" systemctl set-default multi-user.target
# The screen owns tty1.
chroot "$root" systemctl mask getty@tty1.service

case $flavor in
raspi)
	cat >"$root/etc/fstab" <<'FSTAB'
# The SD card: FAT boot partition (firmware, kernel, drop the config here) and ext4 root.
# commit=60: what the appliance must keep it fsyncs (ext4 fast commits make
# that cheap); the periodic full commit of the journal, which rewrites the
# same metadata blocks every time, comes once a minute instead of every 5 s.
# lazytime: a file's times alone never dirty its inode (fsync still writes
# them; a size change carries them).
LABEL=RASPIROOT  /              ext4  rw,noatime,lazytime,commit=60  0 1
LABEL=RASPIFIRM  /boot/firmware vfat  rw,noatime,umask=0077,flush  0 2
FSTAB
	# Wired network by DHCP; Wi-Fi is set up by the technician (wpa_supplicant).
	mkdir -p "$root/etc/systemd/network"
	cat >"$root/etc/systemd/network/20-wired.network" <<'NET'
[Match]
Name=e*

[Network]
DHCP=yes
NET
	chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service ssh.service
	# First boot: the root partition grows to the whole card (room for the spool).
	install -m 0755 "$here/files/growroot" "$root/usr/lib/roomkiosk/growroot"
	install -m 0644 "$here/systemd/roomkiosk-growroot.service" "$root/etc/systemd/system/roomkiosk-growroot.service"
	chroot "$root" systemctl enable roomkiosk-growroot.service
	# Key-only SSH for root: import-config installs the technician's
	# authorized_keys from the boot partition; there is no password.
	install -d -m 0700 "$root/root/.ssh"
	# config.txt: Debian's kernel boots with its own (upstream) device trees,
	# where the display (vc4 KMS) is on already and Raspberry Pi OS overlays
	# do not exist. raspi-firmware appends raspi-firmware-custom to
	# config.txt on every kernel update, so these lines survive upgrades.
	cat >"$root/etc/default/raspi-firmware-custom" <<'CFG'
# roomkiosk: I2C bus 1 on the header for the sensors, whole screen used.
dtparam=i2c_arm=on
disable_overscan=1
CFG
	# Root by label (the card's device name differs between boards); boot
	# messages on the serial port (the last console), the screen stays the kiosk's.
	printf 'ROOTPART=LABEL=RASPIROOT\nCONSOLES="tty0 ttyS1,115200"\n' >"$root/etc/default/raspi-firmware"
	# /dev/i2c-* exist only with i2c-dev loaded.
	mkdir -p "$root/etc/modules-load.d"
	echo i2c-dev >"$root/etc/modules-load.d/roomkiosk.conf"
	# Kernel command line extras: no console blanking, no cursor on the kiosk VT.
	echo "consoleblank=0 vt.global_cursor_default=0" >"$root/etc/default/raspi-extra-cmdline"
	# Regenerate config.txt and cmdline.txt from the settings above.
	chroot "$root" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
	;;
test)
	echo '/dev/vda  /  ext4  rw,noatime,lazytime,commit=60  0 1' >"$root/etc/fstab"
	# No display in qemu: the screen runs on Xvfb.
	cat >"$root/etc/default/roomkiosk-screen" <<'X'
ROOMKIOSK_XSERVER=/usr/bin/Xvfb
ROOMKIOSK_XSERVER_ARGS="-screen 0 800x480x24 -nolisten tcp -nocursor -s 0"
X
	# The config as a technician drops it on the boot partition.
	install -m 0644 "$here/test/roomkiosk.toml" "$root/boot/firmware/roomkiosk.toml"
	install -m 0644 "$here/test/roomkiosk-credentials.toml" "$root/boot/firmware/roomkiosk-credentials.toml"
	# Daemon output on the serial console too: the test reads its readiness line there.
	mkdir -p "$root/etc/systemd/system/roomkiosk.service.d" "$root/etc/systemd/system/roomkiosk-screen.service.d"
	printf '[Service]\nStandardOutput=journal+console\nStandardError=journal+console\n' \
		>"$root/etc/systemd/system/roomkiosk.service.d/boottest.conf"
	printf '[Service]\nStandardOutput=journal+console\nStandardError=journal+console\n' \
		>"$root/etc/systemd/system/roomkiosk-screen.service.d/boottest.conf"
	install -m 0755 "$here/test/boottest" "$root/usr/lib/roomkiosk/boottest"
	install -m 0644 "$here/test/roomkiosk-boottest.service" "$root/etc/systemd/system/roomkiosk-boottest.service"
	chroot "$root" systemctl enable roomkiosk-boottest.service
	# No time server in the sandbox: don't wait for one.
	chroot "$root" systemctl disable systemd-timesyncd.service
	;;
esac
