# SPDX-License-Identifier: GPL-2.0-or-later
# The two entry points: `make demo` and `make check` (see README.md).
# Both install missing Debian packages first (as root) and build.

BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_TEST = meson test --print-errorlogs --no-rebuild

.PHONY: all deps build build-asan check check-unit demo demo-mount fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --werror

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) --werror -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# Every test: unit and host-mount tiers, then the same under ASan+UBSan.
check: build build-asan
	$(MESON_TEST) -C $(BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON_TEST) -C $(ASAN_BUILD)

check-unit: build
	$(MESON_TEST) -C $(BUILD) --suite unit

# A QEMU guest mounts a share served by vfsd over virtio-fs.
demo: build
	scripts/demo/run.sh $(BUILD)/vfsd

# The same share mounted on the host through /dev/fuse.
demo-mount: build
	scripts/demo/mount.sh $(BUILD)/vfsd

FUZZ_SECONDS ?= 600
# Each fuzz target for FUZZ_SECONDS; new coverage merged into fuzz/corpus/.
fuzz: deps
	fuzz/run.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
