#!/bin/sh
# boot-test.sh DIR: boots DIR/{vmlinuz,initrd.img,root.ext4} (build-image.sh
# test) under qemu-system-x86_64 with software emulation and asserts on the
# serial console log (DIR/serial.log): systemd started the daemon (Type=notify,
# so only after READY=1), the daemon printed its readiness line, the image's
# boot-test unit saw the config imported, the screen connected and /healthz
# answer, and the machine powered off. BOOT_TIMEOUT (seconds, default 900)
# bounds the whole run.
# BOOT_ARCH=arm64: DIR is instead what raspi-test-copy.sh made from the Pi
# image (disk.img, vmlinuz, initrd.img, cmdline), booted whole (both
# partitions) under qemu-system-aarch64 -M virt -cpu cortex-a72 with a
# virtio GPU for the Pi's Xorg and a wired port whose DHCP comes from QEMU's
# user network with restrict=on (nothing leaves the VM; without a link the
# Pi's network-online wait would hold the daemon back for two minutes); the
# assertions are the same.
set -eu
dir=$1
timeout=${BOOT_TIMEOUT:-900}
arch=${BOOT_ARCH:-amd64}
log=$dir/serial.log
case $arch in
amd64) disk=root.ext4 ;;
arm64) disk=disk.img ;;
*) echo "boot-test: unknown BOOT_ARCH $arch (amd64 or arm64)" >&2; exit 2 ;;
esac
for f in vmlinuz initrd.img $disk; do
	[ -f "$dir/$f" ] || { echo "boot-test: $dir/$f is missing (make image-test or image-test-arm64 builds it)" >&2; exit 1; }
done
# Boot a copy: the run writes to the disk, the built image stays as it was.
cp --sparse=always "$dir/$disk" "$dir/run.img"
rm -f "$log"
start=$(date +%s)
rc=0
if [ "$arch" = amd64 ]; then
	echo "boot-test: booting under qemu-system-x86_64 -accel tcg (limit ${timeout}s), console in $log"
	timeout --foreground "$timeout" qemu-system-x86_64 -accel tcg -m 1536 -smp 2 \
		-nographic -no-reboot -nic none \
		-kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=1" \
		-drive "file=$dir/run.img,format=raw,if=virtio" \
		-serial "file:$log" -monitor none </dev/null >/dev/null 2>&1 || rc=$?
else
	echo "boot-test: booting under qemu-system-aarch64 -M virt -cpu cortex-a72 (TCG, limit ${timeout}s), console in $log"
	timeout --foreground "$timeout" qemu-system-aarch64 -M virt -cpu cortex-a72 -accel tcg -m 1536 -smp 2 \
		-display none -no-reboot -device virtio-gpu-pci \
		-nic user,restrict=on,model=virtio-net-pci \
		-kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
		-append "$(cat "$dir/cmdline") panic=-1 systemd.show_status=1" \
		-drive "file=$dir/run.img,format=raw,if=virtio" \
		-serial "file:$log" -monitor none </dev/null >/dev/null 2>&1 || rc=$?
fi
took=$(( $(date +%s) - start ))
rm -f "$dir/run.img"
[ $rc = 124 ] && echo "boot-test: qemu still running after ${timeout}s: killed" >&2

fails=0
expect() { # expect WHAT PATTERN: PATTERN (grep -E) must be in the log
	if grep -Eq "$2" "$log"; then echo "boot-test: ok   $1"; else echo "boot-test: FAIL $1 (no /$2/ in $log)" >&2; fails=$((fails + 1)); fi
}
expect "the config import ran" 'roomkiosk: imported /etc/roomkiosk/roomkiosk.toml'
expect "systemd started the daemon" 'Started roomkiosk\.service|Started .*roomkiosk room appliance daemon|roomkiosk-boottest: ok: systemd started roomkiosk\.service'
expect "the daemon printed its readiness line" '"message":"roomkiosk ready"'
expect "the daemon was ready under systemd" 'roomkiosk-boottest: ok: roomkiosk.service ready'
expect "the screen connected" 'roomkiosk-boottest: ok: screen connected'
expect "/healthz answered" 'roomkiosk-boottest: ok: GET /healthz answered 200'
expect "the boot test passed" 'roomkiosk-boottest: PASS'
expect "the machine powered off" 'reboot: Power down'
if grep -q 'roomkiosk-boottest: FAIL' "$log"; then
	grep 'roomkiosk-boottest:' "$log" | sed -n '/FAIL/,$p' | head -80 >&2
fi
echo "boot-test: boot and checks took ${took}s"
echo "boot-test: $((8 - fails)) passed, $fails failed"
[ $fails = 0 ]
