#!/usr/bin/env bash
# Builds the blueprint fuzzer with clang (libFuzzer + ASan + UBSan) and runs it
# for SECONDS (default 60), seeded with every blueprint in tests/blueprints.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out/corpus"
find tests/blueprints examples -name '*.yaml' -exec cp {} "$out/corpus/" \; 2>/dev/null || true
# cp flattens names; give each a unique one
i=0; for f in $(find tests/blueprints examples -name 'architecture.yaml'); do cp "$f" "$out/corpus/seed$i.yaml"; i=$((i+1)); done
srcs=$(ls src/core/*.c src/blueprint/*.c src/components/*.c src/capability/*.c src/schema/*.c src/observe/*.c \
       src/runtime/*.c src/checkpoint/*.c src/reload/*.c src/harness/*.c)
clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
	-I/usr/include/jq $(pkg-config --cflags yaml-0.1 jansson libpcre2-8) \
	tests/fuzz/fuzz_blueprint.c $srcs -o "$out/fuzz_blueprint" \
	$(pkg-config --libs yaml-0.1 jansson libpcre2-8 libcrypto) -ljq -ldl -lpthread -lm
"$out/fuzz_blueprint" -max_total_time="$secs" -max_len=4096 -timeout=10 "$out/corpus"
