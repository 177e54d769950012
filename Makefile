# Thin wrapper over meson/ninja. `make run` and `make test` install what is
# missing (apt-get when root; otherwise they print the apt-get line), build,
# and go on.
PREFIX ?= /usr/local
BUILD ?= build
MESON_OPTS ?=

# Debian packages, grouped by what needs them.
BUILD_PKGS = gcc pkg-config meson ninja-build libseccomp-dev libjansson-dev \
	libc-ares-dev libssl-dev libidn2-dev
TEST_PKGS = iproute2 util-linux procps curl python3 python3-venv python3-requests git passwd mandoc clang-format \
	tmux vim openjdk-17-jdk-headless golang-go nodejs:node npm:npm
BENCH_PKGS = hyperfine bubblewrap wrk time squid tinyproxy
FUZZ_PKGS = clang libclang-rt-14-dev

.PHONY: all build run test install bench fuzz clean deps deps-run deps-test deps-bench deps-fuzz asan valgrind

all: build

deps:
	@scripts/deps.sh $(BUILD_PKGS)
deps-run:
	@scripts/deps.sh $(BUILD_PKGS) curl python3
deps-test:
	@scripts/deps.sh $(BUILD_PKGS) $(TEST_PKGS)
deps-bench:
	@scripts/deps.sh $(BUILD_PKGS) $(TEST_PKGS) $(BENCH_PKGS)
deps-fuzz:
	@scripts/deps.sh $(BUILD_PKGS) $(FUZZ_PKGS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: deps-run build
	@scripts/demo.sh $(BUILD)/cordon

test: deps-test $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@tests/run.sh $(BUILD)

# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps-test
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-asan
	@ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run.sh build-asan
	@tests/leaks.sh build-asan

install: build
	install -D -m 0755 $(BUILD)/cordon $(DESTDIR)$(PREFIX)/bin/cordon
	install -D -m 0644 man/cordon.1 $(DESTDIR)$(PREFIX)/share/man/man1/cordon.1
	install -D -m 0644 man/cordon-policy.5 $(DESTDIR)$(PREFIX)/share/man/man5/cordon-policy.5

bench: deps-bench build
	@bench/run.sh $(BUILD)/cordon

fuzz: deps-fuzz
	@fuzz/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# Unit tests and corpus replays under valgrind (the sandbox itself uses
# syscalls valgrind 3.19 does not know; `make asan` covers it with LSan).
valgrind: build
	meson test -C $(BUILD) --suite unit --suite fuzz-regress \
		--wrap='valgrind --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite,indirect -q'
