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
# and a browser for the console's tests (headless, driven by chromedp).
APT_TEST  := xvfb xauth xdotool imagemagick espeak-ng sox fonts-wqy-microhei procps curl chromium
APT_ARM64 := gcc-aarch64-linux-gnu libc6-dev-arm64-cross

TEST_TIMEOUT ?= 60m

.PHONY: all build run test test-unit lint bench bench-report build-arm64 deps deps-apt deps-tools clean

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
test: deps
	$(GO) vet -tags bench ./...   # the benchmarks compile too (they run only in make bench)
	xvfb-run -a $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
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

clean:
	rm -rf $(BIN) .dev

# Appliance packaging and image targets (deb, image, image-test) live beside their recipe.
-include images/images.mk
