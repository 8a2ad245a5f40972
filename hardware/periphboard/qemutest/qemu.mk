# periph's GPIO character-device path on a real kernel driver (PL061 under
# qemu-system-aarch64 -M virt, software emulation), edges included. Not part
# of `make test` or CI: it downloads Debian's arm64 kernel the first time.
# Include from the top Makefile with: -include hardware/periphboard/qemutest/qemu.mk

.PHONY: qemu-gpio
qemu-gpio:
	@APT_PACKAGES="qemu-system-arm" sh $(CURDIR)/.ci/apt-install.sh
	ROOMKIOSK_ARM64_KERNEL=$$(sh $(CURDIR)/hardware/periphboard/qemutest/fetch-kernel.sh $(CURDIR)/.dev/qemu-arm64) && \
		export ROOMKIOSK_ARM64_KERNEL && \
		$(GO) test -tags qemu -count=1 -v ./hardware/periphboard/qemutest/
