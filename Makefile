# acrt - top-level entry points. Everything builds into build/ (CMake underneath).
#   make            build the runtime, the CLI (build/acrt), examples, tests, benches
#   make test       build and run every test
#   make sanitize   the tests built with ASan+UBSan, and the TSan-labelled ones under TSan
#   make bench      run the benchmarks (table on stdout, JSON under build/bench/)
#   make quickstart run examples/quickstart
#   make install    install into PREFIX (default /usr/local), staged under DESTDIR if set
#   make fuzz       every libFuzzer harness of tests/fuzz for FUZZ_SECONDS each (clang)
#   make fuzz-ci    the same, FUZZ_CI_SECONDS (20) each: what CI runs
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE   ?= cmake
PREFIX  ?= /usr/local
DESTDIR ?=

FUZZ_SECONDS    ?= 1800
FUZZ_CI_SECONDS ?= 20

.PHONY: all test sanitize asan tsan bench quickstart install format clean fuzz fuzz-ci

all:
	@test -f $(BUILD)/CMakeCache.txt -a -f $(BUILD)/Makefile || \
	  $(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

asan:
	@$(CMAKE) -S . -B $(BUILD)/asan -DACRT_SANITIZE=address -DACRT_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build $(BUILD)/asan -j $(JOBS)
	@cd $(BUILD)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

tsan:
	@$(CMAKE) -S . -B $(BUILD)/tsan -DACRT_SANITIZE=thread -DACRT_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build $(BUILD)/tsan -j $(JOBS)
	@cd $(BUILD)/tsan && ACRT_TEST_SCALE=0.05 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -L tsan --timeout 600

sanitize: asan tsan

bench: all
	@bash bench/run.sh $(BUILD)

quickstart: all
	@$(BUILD)/acrt run examples/quickstart

# Configures BUILD for PREFIX (GNUInstallDirs picks lib/ or lib/<multiarch>
# from it), builds, then installs; cmake/install.cmake lists what goes where.
install:
	@test -f $(BUILD)/CMakeCache.txt -a -f $(BUILD)/Makefile || \
	  $(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@$(CMAKE) --build $(BUILD) -j $(JOBS)
	@DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD) --prefix $(PREFIX)

# libFuzzer harnesses (tests/fuzz, docs/FUZZING.md), built in $(BUILD)/fuzz,
# run one after the other; `tests/fuzz/run.sh SECONDS NAME` runs one.
fuzz:
	@FUZZ_BUILD=$(BUILD)/fuzz FUZZ_JOBS=$(JOBS) bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# In CI an input may take 30 s before it counts as a timeout (10 s in `make fuzz`):
# a shared CI machine stalls now and then.
fuzz-ci:
	@FUZZ_BUILD=$(BUILD)/fuzz FUZZ_JOBS=$(JOBS) FUZZ_TIMEOUT=30 bash tests/fuzz/run.sh $(FUZZ_CI_SECONDS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
