# The one place that knows how to build, test and bench roomkiosk.
# `make run` and `make test` install what they need on a fresh Debian machine:
# Debian packages through apt (as root or through sudo), and the pinned MinIO
# server, mc client and age tools into ./bin with `go install`.

GO        ?= go
BIN       := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION    := v0.0.0-20250313080218-cf909e1063a9
AGE_VERSION   := v1.3.1

# Build: ebiten (X11/GL) and malgo (gcc; ALSA loaded at run time).
APT_BUILD := gcc libc6-dev pkg-config libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev \
             libxi-dev libxxf86vm-dev libgl-dev libasound2-dev
# Run and test: an X server, taps and screenshots, speech and audio tools, a CJK font,
# a browser for the console's tests (headless, driven by chromedp), and arecord
# (alsa-utils) for the recorder benchmark's baseline pipeline.
APT_TEST  := xvfb xauth xdotool imagemagick espeak-ng sox fonts-wqy-microhei procps curl chromium alsa-utils
APT_ARM64 := gcc-aarch64-linux-gnu libc6-dev-arm64-cross

TEST_TIMEOUT ?= 60m

.PHONY: all build run test test-unit lint bench bench-report build-arm64 test-arm64 deps deps-apt deps-tools clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# --- dependencies -----------------------------------------------------------

deps: deps-apt deps-tools

# Installs only what is missing; needs root or sudo when something is.
deps-apt:
	@APT_PACKAGES="$(APT_BUILD) $(APT_TEST)" sh $(CURDIR)/.ci/apt-install.sh

deps-tools: $(BIN)/minio $(BIN)/mc $(BIN)/age

$(BIN)/minio:
	GOBIN=$(BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)
$(BIN)/mc:
	GOBIN=$(BIN) $(GO) install github.com/minio/mc@$(MC_VERSION)
$(BIN)/age:
	GOBIN=$(BIN) $(GO) install filippo.io/age/cmd/...@$(AGE_VERSION)

# --- run --------------------------------------------------------------------

# The kiosk against a local MinIO and the simulated board; Ctrl-C stops it all.
run: deps build
	$(GO) build -o $(BIN)/devmic ./recorder/alsatest/devmic
	@sh $(CURDIR)/configs/run-dev.sh

# --- test -------------------------------------------------------------------

# Every test, the integration ones included (real MinIO, ALSA capture fed with
# speech, Xvfb). Test binaries that import ebiten need a display, so the whole
# run has one; tests that take screenshots start their own.
test: deps lint
	xvfb-run -a $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	# The 120 kills of the session journal at every step (16 under -race).
	$(GO) test -count=1 -run '^TestKillAtRandomMoments$$' ./kiosk/session

# gofmt, go vet (the benchmarks compile too: they run only in make bench) and
# no build product tracked in git (.ci/tracked-binaries.sh). Run by make test.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	@.ci/tracked-binaries.sh
	$(GO) vet ./...
	$(GO) vet -tags bench ./...

# Figures as ratios against baselines measured in the same run; see bench/REPORT.md.
# Each figure is a JSON file in bench/figures (committed: the report is made
# from them). A full run starts afresh; a partial one re-measures only what it
# names and keeps the other figures with their dates, e.g.
#   make bench BENCH_PKGS=./kiosk/e2e BENCH_RUN=BenchSigkill
BENCH_PKGS ?= ./...
BENCH_RUN  ?= Bench
FIGURES    := $(CURDIR)/bench/figures
bench: deps
	@if [ "$(BENCH_PKGS)" = "./..." ] && [ "$(BENCH_RUN)" = "Bench" ]; then rm -rf $(FIGURES); fi
	ROOMKIOSK_BENCH_OUT=$(FIGURES) xvfb-run -a \
		$(GO) test -tags bench -run '$(BENCH_RUN)' -bench . -benchtime 1x -count=1 -timeout 90m $(BENCH_PKGS)
	$(GO) run ./bench/report -in $(FIGURES) -out $(CURDIR)/bench/REPORT.md

# Only the report, from the figures already measured.
bench-report:
	$(GO) run ./bench/report -in $(FIGURES) -out $(CURDIR)/bench/REPORT.md

# --- cross-compile for the Raspberry Pi -------------------------------------

build-arm64:
	@APT_PACKAGES="$(APT_ARM64)" APT_ARCH=arm64 APT_ARCH_PACKAGES="libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl-dev libasound2-dev" sh $(CURDIR)/.ci/apt-install.sh
	mkdir -p $(BIN)/arm64
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
		PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig \
		$(GO) build -o $(BIN)/arm64/ ./cmd/roomkiosk ./cmd/roomkiosk-screen
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o $(BIN)/arm64/ ./cmd/roomctl
	file $(BIN)/arm64/* 2>/dev/null || ls -l $(BIN)/arm64

# --- test on arm64, the Pi's architecture, under emulation ------------------

# The device packages that matter, cross-compiled for arm64 with cgo (as the
# Pi's binaries are) and run under qemu-user. One list, so that it can follow
# the tree when packages move.
ARM64_TEST_PKGS := ./kiosk/session ./recorder ./recorder/segment ./recorder/spool ./recorder/manifest \
                   ./recorder/capture ./sync/upload ./sync/store/memstore ./kiosk/ui ./kiosk/pin ./cmd/roomkiosk/config
# Tests skipped under qemu-user only (go test -skip, printed by the target;
# never under `make test`, which runs them on amd64). Everything else runs:
# MinIO (an amd64 process the arm64 test starts), ALSA capture (Debian's arm64
# libasound2 through multiarch, fed speech through a FIFO) and the tests that
# re-execute their own binary as a crashing child (binfmt_misc).
# Skipped, because they hold the capture to real-time pace and an emulated
# capture thread on a shared 2-core host falls behind the real-time feed
# (in one of three full runs here, under a load of about 15, three of the
# four tests then skipped failed; all pass on amd64):
#   TestDeviceDisappears: expects a whole segment captured before the device
#     is pulled (got 16000 of 64000 bytes);
#   TestMicCheckYieldsToRecordingALSA: expects the recording to take the
#     device from the microphone check at once (gaps of 0.3-0.8 s seen).
# TestCoreConsentGatesCapture and TestWithdrawalClosesCapture were skipped too,
# for the 250 ms from a withdrawal to the capture device closed (433 ms
# measured under emulation); they no longer time it (that is the benchmark
# figure "withdrawal to capture closed") and run here (6 of 6 passed
# 2026-12-03, load about 1.5).
ARM64_TEST_SKIP := ^(TestDeviceDisappears|TestMicCheckYieldsToRecordingALSA)$$
ARM64_ENV  := CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
              PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig
# Debian's arm64 libc (libc6:arm64, through multiarch, as on the Pi) is the
# one the binaries load, from /lib/ld-linux-aarch64.so.1. Not -L
# /usr/aarch64-linux-gnu: that sysroot's loader is the cross toolchain's
# build of glibc, which then picks up the multiarch libc.so.6 of another
# build and hangs before main (seen here).
# -short: the kill-at-random-moments tests (session journal, withdrawal)
# run 20 trials each instead of 120-200; amd64's make test runs them all.
QEMU_ARM64 := qemu-aarch64
APT_TEST_ARM64 := qemu-user qemu-user-static

test-arm64: deps
	@APT_PACKAGES="$(APT_ARM64) $(APT_TEST_ARM64)" APT_ARCH=arm64 APT_ARCH_PACKAGES="libc6 libasound2" sh $(CURDIR)/.ci/apt-install.sh
	@sh $(CURDIR)/.ci/binfmt-arm64.sh
	@if [ -n "$(ARM64_TEST_SKIP)" ]; then echo "test-arm64: skipped under qemu-user (see ARM64_TEST_SKIP): $(ARM64_TEST_SKIP)"; fi
	$(ARM64_ENV) $(GO) test -short -count=1 -timeout $(TEST_TIMEOUT) -exec "$(QEMU_ARM64)" \
		$(if $(ARM64_TEST_SKIP),-skip '$(ARM64_TEST_SKIP)') $(ARM64_TEST_PKGS)

clean:
	rm -rf $(BIN) .dev

# Appliance packaging and image targets (deb, image, image-test) live beside their recipe.
-include images/images.mk
