// Package qemutest boots a tiny arm64 VM under qemu-system-aarch64 -M virt
// to exercise periph's GPIO character-device path against a real kernel
// driver (PL061), edges included. It is not part of the normal test run:
// `go test -tags qemu ./hardware/periphboard/qemutest/` with
// ROOMKIOSK_ARM64_KERNEL naming an arm64 kernel image (fetch-kernel.sh gets
// Debian's); qemu.mk has the make target.
package qemutest
