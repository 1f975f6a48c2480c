# lbx: thin wrapper. The build is meson (build-aux/ holds the scripts).
#   make run     set up, build, boot a box and open a shell in it
#   make check   set up, build, run every test layer; last line is the summary
#   make install install lbx (PREFIX, default /usr/local; DESTDIR respected)

BUILD ?= build
MESON_FLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all setup build kernel run check fuzz bench clean install build-arm64 kernel-arm64

all: build

setup:
	@build-aux/setup.sh

build: setup
	@[ -f $(BUILD)/build.ninja ] || meson setup --prefix=$(PREFIX) $(MESON_FLAGS) $(BUILD) >/dev/null
	@ninja -C $(BUILD)

# The kernel goes into the cache of whoever runs this; lbx finds it there by
# its key (build-kernel.sh --print-key), so nothing records a path. Boxes are
# of the host's architecture (lbx/arch.c): on an arm64 host this is the
# arm64 kernel.
ifeq ($(shell uname -m),aarch64)
KERNEL_SCRIPT = kernel-config/build-kernel-arm64.sh
else
KERNEL_SCRIPT = kernel-config/build-kernel.sh
endif
kernel: build
	@$(KERNEL_SCRIPT) >/dev/null

# lbx in PREFIX/bin, its helpers in PREFIX/libexec/lbx, data in PREFIX/share/lbx,
# man pages and bash/zsh completions. The kernel is built on first use.
install: build
	@[ "$$(meson introspect --buildoptions $(BUILD) | python3 -c 'import json, sys; \
		print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')" = \
		"$(PREFIX)" ] || { meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null && \
		ninja -C $(BUILD) >/dev/null; }
	@meson install -C $(BUILD) --quiet --no-rebuild $(if $(DESTDIR),--destdir "$(DESTDIR)")

# arm64 (issue 20): the static arm64 lbx-vmm and agent in build-arm64, and the
# arm64 guest kernel in the shared cache (tests/nested-arm64 uses both).
build-arm64: setup
	@build-aux/setup-arm64.sh build-arm64
	@ninja -C build-arm64

kernel-arm64: setup
	@kernel-config/build-kernel-arm64.sh >/dev/null

run: build kernel
	@build-aux/run.sh $(BUILD)

# The arm64 nested layer (tests/nested-arm64) runs in make check too: its
# cross build and kernel come first (cached: nothing to do when unchanged).
check: build kernel build-arm64 kernel-arm64
	@build-aux/check.sh $(BUILD)

fuzz: setup
	@build-aux/check.sh --only-fuzz $(BUILD)

bench: build kernel
	@python3 tests/bench/boot.py
	@python3 tests/bench/lifecycle.py $(BUILD)

clean:
	rm -rf $(BUILD) build-san build-fuzz build-arm64
