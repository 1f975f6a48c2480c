# lbx: thin wrapper. The build is meson (build-aux/ holds the scripts).
#   make run     set up, build, boot a box and open a shell in it
#   make check   set up, build, run every test layer; last line is the summary

BUILD ?= build
MESON_FLAGS ?=

.PHONY: all setup build kernel run check fuzz bench clean build-arm64 kernel-arm64

all: build

setup:
	@build-aux/setup.sh

build: setup
	@[ -f $(BUILD)/build.ninja ] || meson setup $(MESON_FLAGS) $(BUILD) >/dev/null
	@ninja -C $(BUILD)

# The kernel's cache directory is recorded where lbx (run from the build tree) finds it.
kernel: build
	@kernel-config/build-kernel.sh > $(BUILD)/kernel-dir.tmp && \
		tail -n 1 $(BUILD)/kernel-dir.tmp > $(BUILD)/kernel-dir && rm -f $(BUILD)/kernel-dir.tmp

# arm64 (issue 20): the static arm64 lbx-vmm and agent in build-arm64, and the
# arm64 guest kernel in the shared cache (tests/nested-arm64 uses both).
build-arm64: setup
	@build-aux/setup-arm64.sh build-arm64
	@ninja -C build-arm64

kernel-arm64: setup
	@kernel-config/build-kernel-arm64.sh >/dev/null

run: build kernel
	@build-aux/run.sh $(BUILD)

check: build kernel
	@build-aux/check.sh $(BUILD)

fuzz: setup
	@build-aux/check.sh --only-fuzz $(BUILD)

bench: build kernel
	@python3 tests/bench/boot.py
	@python3 tests/bench/lifecycle.py $(BUILD)

clean:
	rm -rf $(BUILD) build-san build-fuzz build-arm64
