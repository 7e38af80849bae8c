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

.PHONY: bench
bench: build ## benchmarks: Go micro-benchmarks, then twtrace against the churn workload side by side
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/twbench -twtrace ./$(BIN)

.PHONY: lint
lint: ## gofmt, go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: clean
clean: ## remove build output
	rm -f $(BIN)
