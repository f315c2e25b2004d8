# xinit-go. `make demo` and `make test` each install what they need first
# (scripts/deps.sh: Debian/Ubuntu packages, as root or through sudo).

GO          ?= go
BIN         := bin/xinit-go
# go-nvml's header marks some functions deprecated; the warnings say nothing about us.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
# cgo is needed (NVML, -race): without a C compiler the build fails instead of quietly
# leaving it out.
export CGO_ENABLED := 1
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS     := -s -w -X main.version=$(VERSION)
STATICCHECK := $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)

.PHONY: all build vklayer deps deps-demo demo test fresh-test unit lint fuzz bench clean notices

all: build

build: vklayer
	$(GO) build -buildvcs=auto -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xinit-go

# The present-by-copy Vulkan layer (C), its manifest and its test program, in vklayer/build.
vklayer:
	$(MAKE) -C vklayer

# THIRD_PARTY_NOTICES: the licence of every Go module the binary links, from the
# module cache (internal/notices; its test fails when the file is stale).
notices:
	$(GO) run ./internal/notices/gen > THIRD_PARTY_NOTICES

deps:
	bash scripts/deps.sh test

deps-demo:
	bash scripts/deps.sh demo

# The whole session as PID 1 of a PID namespace: X (software rendering when there
# is no GPU), x11vnc on localhost:5900 and glxgears as the app. Ctrl-C stops it.
demo: deps-demo build
	@bash scripts/demo.sh

# Every test: formatting, vet, staticcheck, all tests with the race detector, the
# deploy checks, a short benchmark run that only keeps the benchmark from rotting,
# the session in a debootstrapped Debian 12 root, and the image on a real engine.
test: deps lint build
	$(GO) test -race -count=1 -timeout 30m ./...
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(GO) run ./cmd/xinit-bench -short -xinit $(BIN) >/dev/null
	bash scripts/rootfs-test.sh $(BIN)
	bash scripts/image-test.sh

# CI's proof of the Quick start: the README's two commands in a fresh Debian 12 root
# holding only the README's prerequisites (scripts/fresh-test.sh).
fresh-test:
	bash scripts/fresh-test.sh

# The full side-by-side benchmark (several minutes), written to docs/benchmarks.md.
bench: deps build
	$(GO) run ./cmd/xinit-bench -xinit $(BIN) -runs 3 -out docs/benchmarks.md

unit:
	$(GO) test -race -short ./...

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

fuzz:
	$(GO) test ./xorgconf -run '^$$' -fuzz FuzzParseBusID -fuzztime 30s
	$(GO) test ./config -run '^$$' -fuzz FuzzParseResolution -fuzztime 30s
	$(GO) test ./config -run '^$$' -fuzz FuzzLoadTOML -fuzztime 30s

clean:
	rm -rf bin
	$(MAKE) -C vklayer clean
