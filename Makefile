# Quarry: two commands for a fresh machine.
#   make run    set up, build, generate the demo warehouse if absent, show answers
#   make test   set up, check format and lints, run every test
#
# The build directory lives outside the clone (CARGO_TARGET_DIR) so a fresh
# clone reuses an earlier build; generated data and downloads live in the
# data directory (QUARRY_DATA_DIR, default ./.quarry).

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/quarry/target
export QUARRY_DATA_DIR ?= $(CURDIR)/.quarry
SCALE ?= 1
SEED ?= 42
BIN := $(CARGO_TARGET_DIR)/debug/quarry

.PHONY: help setup setup-test demo build warehouse models run load test test-build lint check-format unit crosscheck eval examples bench clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## check the toolchain and fetch what the build and tests need
	@scripts/setup.sh

# Everything is built together, tests and benches included: dev-dependencies
# switch on a few extra features of shared crates (serde_json, regex), and
# building the binary alone would resolve them differently and compile the
# engine a second time for `make test`.
build: setup ## build the quarry binary, the tests and the benches (dev profile, dependencies optimised)
	cargo build --workspace --all-targets

warehouse: build
	@if [ ! -f "$(QUARRY_DATA_DIR)/warehouse/manifest.json" ]; then \
		"$(BIN)" demo generate --scale $(SCALE) --seed $(SEED); \
	fi

models: warehouse ## train the demo's fraud, churn and lifetime-value models when they are missing
	"$(BIN)" train --missing

run: models ## generate the demo warehouse when absent, train the models, index, start the web chat and API
	"$(BIN)" index
	"$(BIN)" serve

demo: models ## answer the README's questions on the command line
	"$(BIN)" index
	"$(BIN)" ask "top 5 iOS campaigns by ROAS last month" --session demo-run
	"$(BIN)" ask "what about Android?" --session demo-run
	"$(BIN)" ask "which publishers had the most likely-fraudulent installs last week?"
	"$(BIN)" ask "weekly revenue trend this quarter"
	"$(BIN)" ask "installs by network last week, excluding organic"
	"$(BIN)" ask "how are we doing?"
	"$(BIN)" models list

check-format:
	cargo fmt --all --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo nextest run --workspace --no-fail-fast

crosscheck: build ## metric results against DuckDB on the same Parquet files
	@eval/crosscheck/run.sh "$(BIN)"

test-build:
	cargo build --workspace --all-targets

setup-test:
	@scripts/setup.sh test

test: setup-test check-format lint test-build unit ## everything CI runs
	@eval/crosscheck/run.sh "$(BIN)"

eval: models ## answer accuracy, retrieval recall and semantic-cache safety on the demo warehouse
	"$(BIN)" index
	"$(BIN)" eval ask --json "$(QUARRY_DATA_DIR)/eval-ask.json"
	"$(BIN)" eval retrieval
	"$(BIN)" eval cache

examples: build ## the shop and telco example warehouses: generate, index, and score both question sets of each
	@scripts/examples.sh
	@for d in shop telco; do \
		"$(BIN)" --data-dir "$(QUARRY_DATA_DIR)/examples/$$d" --model examples/$$d/model index || exit 1; \
		for f in questions holdout; do \
			echo "== $$d $$f"; \
			"$(BIN)" --data-dir "$(QUARRY_DATA_DIR)/examples/$$d" --model examples/$$d/model eval ask --file examples/$$d/$$f.yaml | tail -1 || exit 1; \
		done; \
	done

load: models ## the chat API under load: 64 connections, cached and uncached (figures for the README)
	"$(BIN)" index
	@eval/load/run.sh "$(BIN)"

bench: build ## generation and catalogue benchmarks at scale 1, and criterion benches (figures for the README)
	@eval/bench.sh "$(BIN)"
	cargo bench --profile dev --workspace

clean: ## remove generated data (not the build directory)
	rm -rf "$(QUARRY_DATA_DIR)"
