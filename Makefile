# SPDX-License-Identifier: GPL-2.0-or-later
# The two entry points: `make demo` and `make check` (see README.md).
# Both install missing Debian packages first (as root) and build.

BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_TEST = meson test --print-errorlogs --no-rebuild
# What the ThreadSanitizer build compiles: the daemon and the programs of
# the tests in its suite 'tsan' (the multi-queue and migration harness
# tests, and the metrics counters read across threads).
TSAN_TARGETS = src/vfsd tests/vhost/vhost-multiqueue tests/vhost/vhost-hostile \
	tests/vhost/vhost-metrics tests/vhost/vhost-migration

.PHONY: all deps build build-asan build-tsan check check-tsan check-unit \
	demo demo-mount deb fuzz format clean

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

$(TSAN_BUILD)/build.ninja:
	CC=clang meson setup $(TSAN_BUILD) --werror -Db_sanitize=thread \
		-Db_lundef=false -Dbuildtype=debug

build-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) $(TSAN_TARGETS)

# Every test, then the same under ASan+UBSan (LeakSanitizer live where
# vfsd runs without a sandbox), then the multi-queue tests under TSan.
# Some tests run vfsd and the Rust peer as an unprivileged user, who must
# be able to reach the build trees: a checkout made in a `mktemp -d`
# directory is mode 0700, so the checkout is opened to search (not to
# reading) by others first; an ancestor that still bars them is named.
check: build build-asan build-tsan
	@chmod o+x .
	@d=$$(pwd); while [ "$$d" != / ]; do \
		case $$(stat -c %A "$$d") in *[xt]) ;; *) echo "make check:" \
			"$$d is not searchable by other users: the tests" \
			"that run vfsd as one will skip or fail" >&2 ;; esac; \
		d=$$(dirname "$$d"); done
	$(MESON_TEST) -C $(BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON_TEST) -C $(ASAN_BUILD)
	$(MAKE) --no-print-directory check-tsan

# The data-race check: a race report makes vfsd exit 66, which the tests
# report as a failure along with the report in their log.
check-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 \
		$(MESON_TEST) -C $(TSAN_BUILD) --suite tsan

check-unit: build
	$(MESON_TEST) -C $(BUILD) --suite unit

# A QEMU guest mounts a share served by vfsd over virtio-fs.
demo: build
	scripts/demo/run.sh $(BUILD)/src/vfsd

# The same share mounted on the host through /dev/fuse.
demo-mount: build
	scripts/demo/mount.sh $(BUILD)/src/vfsd

# The Debian package (vfsd_VERSION_ARCH.deb), built from a copy of the
# tree so that dpkg-buildpackage leaves the source alone; it lands in the
# deb/ directory of the build directory (scripts/build-deb.sh).
deb: deps
	scripts/build-deb.sh $(BUILD)

FUZZ_SECONDS ?= 600
# Each fuzz target for FUZZ_SECONDS; new coverage merged into fuzz/corpus/.
fuzz: deps
	fuzz/run.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz
