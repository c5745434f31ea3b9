# acrt - top-level entry points. Everything builds into build/ (CMake underneath).
#   make            build the runtime, the CLI (build/acrt), examples, tests, benches
#   make test       build and run every test
#   make sanitize   the tests built with ASan+UBSan, and the TSan-labelled ones under TSan
#   make bench      run the benchmarks (table on stdout, JSON under build/bench/)
#   make quickstart run examples/quickstart
#   make install    install into PREFIX (default /usr/local), staged under DESTDIR if set
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE   ?= cmake
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all test sanitize asan tsan bench quickstart install format clean

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

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
