# twtrace — make help lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := twtrace

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: ## build ./twtrace (no clang needed: the BPF object is committed)
	$(GO) build -trimpath -o $(BIN) ./cmd/twtrace

.PHONY: run
run: build ## build and run: the live UI as root, the built-in demo otherwise
	@if [ "$$(id -u)" = 0 ]; then ./$(BIN); else ./$(BIN) --demo; fi

.PHONY: generate
generate: ## rebuild the BPF object and its Go bindings (needs clang-19, llvm-strip-19)
	$(GO) generate ./tracer

.PHONY: check-generate
check-generate: generate ## fail if the committed BPF object differs from a rebuild
	@git diff --exit-code --stat -- tracer/ || { echo "tracer/: committed BPF object is stale: run make generate and commit"; exit 1; }

.PHONY: test
test: ## run every test; kernel tests need root (TWTRACE_REQUIRE_PRIVILEGED=1 makes their skips failures)
	$(GO) vet ./...
	GOOS=darwin $(GO) build ./... && GOOS=windows $(GO) build ./...
	$(GO) test -count=1 -timeout 20m ./...

# Where fetched kernels are kept between runs.
VMTEST_CACHE ?= $(HOME)/.cache/twtrace-vmtest
# The packages whose tests need a kernel: they are the ones run in the VMs.
# The guests also get these host tools, with their libraries: the tests
# make network namespaces with ip, inspect them with ss, and mount a small
# tmpfs to fill a disk. Each test binary times out (with a stack dump of
# where it hung) well before the runner kills its VM: tracer's runs once
# per backend, and one run has taken 3.3 of its 8 minutes on a busy host.
VMTEST_TOOLS := ip ss mount umount
VMTEST_PKGS := ./tracer/ ./cmd/twtrace/
# The kernel (a part of its name) that also runs the slow tests: a
# TIME_WAIT expiry, a minute per backend.
VMTEST_SLOW ?= 6.1.0-
# A file whose kernel-support table to rewrite from the run: README.md.
VMTEST_TABLE ?=
# The kernels to boot (see the file's comments).
VMTEST_KERNELS ?= cmd/vmtest/kernels.txt

.PHONY: vmtest
vmtest: ## run the kernel tests on Debian kernels 5.10 to 7.x in QEMU VMs (root; VMTEST_TABLE=README.md rewrites the support table; VMTEST_SKIP=1 skips them offline)
	@command -v qemu-system-x86_64 >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86; }
	rm -rf .vmtest && mkdir -p .vmtest/bins
	cmd/vmtest/fetch-kernels.sh $(VMTEST_CACHE) $(VMTEST_KERNELS) >.vmtest/kernels
	CGO_ENABLED=0 $(GO) test -c -trimpath -o .vmtest/bins/ $(VMTEST_PKGS)
	CGO_ENABLED=0 $(GO) build -trimpath -o .vmtest/vminit ./cmd/vminit
	@if [ ! -s .vmtest/kernels ]; then echo "vmtest: skipped: no kernels (VMTEST_SKIP=1, archive unreachable)"; exit 0; fi; \
	set -x; $(GO) run ./cmd/vmtest -init .vmtest/vminit $(VMTEST_TOOLS:%=-tool %) -smp 2 -m 1G -parallel 2 -timeout 30m \
	  -slow '$(VMTEST_SLOW)' $(if $(VMTEST_TABLE),-table $(VMTEST_TABLE)) \
	  $$(sed 's/^/-kernel /' .vmtest/kernels) -- .vmtest/bins/*.test -- -test.v -test.count=1 -test.timeout=8m -test.parallel=4

.PHONY: bench
bench: build ## benchmarks: Go micro-benchmarks, then twtrace against the churn workload side by side
	@command -v bpftrace >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bpftrace; }
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/twbench -twtrace ./$(BIN) -filter-nothing -ui

.PHONY: bench-ui
bench-ui: build ## the terminal UI's CPU at 10 fps (in tmux) beside -o json's, against the churn workload
	$(GO) run ./cmd/twbench -twtrace ./$(BIN) -tracers bt-count,twtrace -ui -bpf-stats=false

.PHONY: demo
demo: ## re-capture the built-in demo recording (root; about 80 s of real traffic in a private netns)
	TWTRACE_DEMO_OUT=$(CURDIR)/cmd/twtrace/demo.twt $(GO) test -count=1 -run '^TestCaptureDemo$$' -timeout 5m -v ./cmd/twtrace

.PHONY: screenshot
screenshot: build ## re-render tui/screenshot.png from the demo running in tmux (needs tmux, imagemagick)
	PATH=/usr/bin:$$PATH tui/screenshot.sh ./$(BIN)

.PHONY: lint
lint: ## gofmt, go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: clean
clean: ## remove build output
	rm -f $(BIN)
