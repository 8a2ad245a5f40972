# Appliance targets, included by the top-level Makefile:
#   make deb         roomkiosk_VERSION_{amd64,arm64}.deb in images/_out/
#   make image       the Raspberry Pi (arm64) SD-card image, then its static check
#   make image-check the static check of an image already built
#   make image-test  the amd64 image booted under qemu-system-x86_64 (TCG)
#   make image-test-arm64  the Pi image itself (a copy with the boot test's
#                    pieces) booted under qemu-system-aarch64 -M virt (TCG);
#                    not in CI: building the Pi image takes 25-97 min here
#   make test-all    make test, then image-test
#   make powercut-test  power cuts of the booted test image (images/powercut)
#   make disk-bench  the booted test image's block-layer writes (images/powercut)
# The image targets run as root (mmdebstrap, file owners) and install what
# they lack through .ci/apt-install.sh. See images/README.md.

IMAGES     := $(CURDIR)/images
# "_out": Go's ./... skips folders starting with "_", and a root file system
# (with /proc mounted while it is built) must never be walked by go test.
IMAGES_OUT ?= $(IMAGES)/_out
DEB_ARCHES ?= amd64 arm64

APT_DEB   := dpkg
APT_IMAGE := mmdebstrap arch-test dosfstools mtools fdisk e2fsprogs util-linux
APT_IMAGE_ARM64 := qemu-user-static
APT_IMAGE_TEST  := qemu-system-x86
APT_IMAGE_TEST_ARM64 := qemu-system-arm mtools e2fsprogs fdisk util-linux

.PHONY: deb deb-amd64 deb-arm64 image image-check image-test image-test-build image-test-boot image-test-arm64 image-test-arm64-boot test-all deps-image

deb: $(addprefix deb-,$(DEB_ARCHES))

deb-amd64: build
	@APT_PACKAGES="$(APT_DEB)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/build-deb.sh amd64 $(BIN) $(IMAGES_OUT)/deb >$(IMAGES_OUT)/deb-amd64.path
	@cat $(IMAGES_OUT)/deb-amd64.path

deb-arm64: build-arm64
	@APT_PACKAGES="$(APT_DEB)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/build-deb.sh arm64 $(BIN)/arm64 $(IMAGES_OUT)/deb >$(IMAGES_OUT)/deb-arm64.path
	@cat $(IMAGES_OUT)/deb-arm64.path

$(IMAGES_OUT):
	mkdir -p $@

deb-amd64 deb-arm64: | $(IMAGES_OUT)

image: deb-arm64
	@APT_PACKAGES="$(APT_IMAGE) $(APT_IMAGE_ARM64)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/build-image.sh raspi $$(cat $(IMAGES_OUT)/deb-arm64.path) $(IMAGES_OUT)
	sh $(IMAGES)/scripts/check-raspi-image.sh $(IMAGES_OUT)/raspi/roomkiosk-raspi-arm64.img

image-check:
	@APT_PACKAGES="mtools fdisk e2fsprogs" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/check-raspi-image.sh $(IMAGES_OUT)/raspi/roomkiosk-raspi-arm64.img

image-test: image-test-build image-test-boot

image-test-build: deb-amd64
	@APT_PACKAGES="$(APT_IMAGE) $(APT_IMAGE_TEST)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/build-image.sh test $$(cat $(IMAGES_OUT)/deb-amd64.path) $(IMAGES_OUT)

# Boots what image-test-build made (handy to re-run without rebuilding).
image-test-boot:
	@APT_PACKAGES="$(APT_IMAGE_TEST)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/boot-test.sh $(IMAGES_OUT)/test

# The Pi image as users flash it, booted with its own Debian arm64 kernel and
# initrd under qemu-system-aarch64 -M virt -cpu cortex-a72 (TCG, no KVM), until
# the daemon is ready under systemd, the screen (the Pi's Xorg, on a virtio
# GPU) connected and /healthz answered: the amd64 boot test's checker and
# assertions, on a copy (raspi-test-copy.sh) so that the image stays as built.
# Too long for CI (25-97 min for `make image` alone on 2 cores; the boot
# itself takes under 2 min; see images/README.md): run by hand.
image-test-arm64: image image-test-arm64-boot

# Copies and boots what `make image` made (re-run without rebuilding).
image-test-arm64-boot:
	@APT_PACKAGES="$(APT_IMAGE_TEST_ARM64)" sh $(CURDIR)/.ci/apt-install.sh
	sh $(IMAGES)/scripts/raspi-test-copy.sh $(IMAGES_OUT)/raspi/roomkiosk-raspi-arm64.img $(IMAGES_OUT)/raspi-test
	BOOT_ARCH=arm64 BOOT_TIMEOUT=$${BOOT_TIMEOUT:-1800} sh $(IMAGES)/scripts/boot-test.sh $(IMAGES_OUT)/raspi-test

test-all: test image-test

# --- power cuts of the booted appliance (images/powercut, images/README.md) ---
# qemu and debugfs (the image's additions go in without a mount), speech.
APT_POWERCUT := qemu-system-x86 e2fsprogs espeak-ng sox

.PHONY: powercut-test powercut-run powercut-bench disk-bench

powercut-test: image-test-build powercut-run

# Cuts the power of what image-test-build made (CI runs it after image-test).
powercut-run: deps-tools
	@APT_PACKAGES="$(APT_POWERCUT)" sh $(CURDIR)/.ci/apt-install.sh
	$(GO) test -tags powercut -run 'TestPowerCut$$' -count=1 -v -timeout 45m ./images/powercut/

# The 10-cut benchmark alone: its figures into bench/figures, the others
# kept (make bench runs it too, with everything else, once the test image
# exists).
powercut-bench: image-test-build deps-tools
	@APT_PACKAGES="$(APT_POWERCUT)" sh $(CURDIR)/.ci/apt-install.sh
	$(MAKE) bench BENCH_PKGS=./images/powercut/ BENCH_RUN='TestBenchPowerCut$$$$'

# The booted image's block-layer writes (a recorded session, an idle
# stretch) alone: figures into bench/figures and bench/REPORT.md, the others
# kept (make bench runs it too once the test image exists).
disk-bench: image-test-build deps-tools
	@APT_PACKAGES="$(APT_POWERCUT)" sh $(CURDIR)/.ci/apt-install.sh
	$(MAKE) bench BENCH_PKGS=./images/powercut/ BENCH_RUN='TestBenchDiskWrites$$$$'
