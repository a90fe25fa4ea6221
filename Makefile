# Tessera's two commands are `make demo` and `make test`; `make bench` measures.
# Every target installs what it needs (Debian packages through apt, Go modules through the
# module proxy, npm packages) idempotently, as root or through sudo.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
GOROOT := $(shell $(GO) env GOROOT)
WASM_PATH := $(GOROOT)/lib/wasm:$(PATH)

export DATABASE_URL ?= postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable
export REDIS_URL_TEST ?= redis://127.0.0.1:6379/0

# The fence: shared/ and wasm/ are compiled into the browser, so they may reach only the
# standard library, the module's own shared/ packages and these pure-Go libraries.
SHARED_ALLOWED := github.com/vmihailenco/msgpack/v5 github.com/vmihailenco/tagparser/v2
MODULE := github.com/tessera-gis/tessera

.PHONY: all build test unit fence wasm-test services bench demo clean web web-test

all: build

build: web
	$(GO) build -o bin/tessera ./backend/cmd/tessera

# The browser map: the WebAssembly module, npm packages (npm ci when the lock changed) and
# the esbuild bundle into web/dist, which the next Go build of tessera embeds.
web:
	GOOS=js GOARCH=wasm $(GO) build -o bin/tessera.wasm ./wasm
	@web/make.sh build "$(GOROOT)/lib/wasm/wasm_exec.js"

services:
	@scripts/services.sh

# make test: every test, on both targets, against the real services.
test: services web fence unit wasm-test web-test
	@echo "make test: all passed"

unit:
	$(GO) vet ./...
	TESSERA_REQUIRE_SERVICES=1 $(GO) test -count=1 ./...

fence:
	GOOS=js GOARCH=wasm $(GO) build -o /dev/null ./wasm
	@bad=$$(GOOS=js GOARCH=wasm $(GO) list -deps ./shared/... ./wasm | awk -v mod="$(MODULE)" -v allowed="$(SHARED_ALLOWED)" ' \
		BEGIN { n = split(allowed, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1 } \
		$$0 !~ /\./ || $$0 ~ /^vendor\// { next } \
		index($$0, mod "/shared") == 1 || $$0 == mod "/wasm" { next } \
		{ keep = 0; for (p in ok) if (index($$0, p) == 1) keep = 1; if (!keep) print }'); \
	if [ -n "$$bad" ]; then echo "fence: shared/ or wasm/ imports outside the allowed set:"; echo "$$bad"; exit 1; fi; \
	echo "fence: shared/ and wasm/ import only the standard library, shared/ and $(SHARED_ALLOWED)"

# The same shared/ tests, compiled to WebAssembly and run under node, and the wasm module's own.
wasm-test:
	PATH="$(WASM_PATH)" GOOS=js GOARCH=wasm $(GO) test -count=1 ./shared/... ./wasm

# The browser test: headless Chromium (Debian's, installed when missing) on a real
# tessera serve with a fresh database (web/browser_test.go drives web/test/browser.mjs).
web-test: services build
	@web/make.sh chromium
	TESSERA_REQUIRE_SERVICES=1 TESSERA_WEB_TEST=1 $(GO) test -count=1 -v -run '^TestBrowser(PrivateReads|Kit)?$$' ./web

bench: services
	@scripts/bench.sh

demo: services build
	@scripts/demo.sh

clean:
	rm -rf bin
	find web/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true
