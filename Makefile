# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
.PHONY: run test build fuzz-build deps clean

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

run: build
	./build/dev/cmd/ucedge/ucedge serve --config etc/ucedge.toml

test: fuzz-build build
	ctest --preset dev

clean:
	rm -rf build
