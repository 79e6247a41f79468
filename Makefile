# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
.PHONY: run test build fuzz-build asan-build deps clean

JOBS ?= $(shell nproc)
export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

deps:
	@scripts/install-deps

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# The fuzz targets need clang's libFuzzer; they live in their own build tree.
fuzz-build: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# Every test again under AddressSanitizer and UBSan (g++).
asan-build: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

run: build
	./build/dev/cmd/ucedge/ucedge serve --config etc/ucedge.toml

# The sanitizer pass runs first; the main pass (with the fuzzers) closes with
# ctest's summary.
test: fuzz-build build asan-build
	ctest --preset asan
	ctest --preset dev

clean:
	rm -rf build
