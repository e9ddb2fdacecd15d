# Overlay — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama-cpp-python compiles from source once (pip caches the wheel afterwards).
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

DEMO_QUESTION ?= In two sentences: why would someone run a language model locally?

.PHONY: help install model run test lint format typecheck check bench clean

help:
	@echo "make run        set up, prepare the embedded model, start 'overlay chat' (one-shot demo without a TTY)"
	@echo "make test       set up and run the test suite"
	@echo "make lint       ruff check + format check;  make format  to fix"
	@echo "make typecheck  mypy on src/"
	@echo "make bench      benchmarks: engine, runner, memory, cache (bench/*.py)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Overlay needs Python 3.11+; set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	@touch $@

install: $(STAMP)

model: install
	$(BIN)/overlay models pull

run: model
	@if [ -t 0 ] && [ -t 1 ] && [ -z "$$CI" ]; then \
		$(BIN)/overlay chat; \
	else \
		echo "overlay run reflect \"$(DEMO_QUESTION)\" --trace --seed 1"; \
		$(BIN)/overlay run reflect "$(DEMO_QUESTION)" --trace --seed 1; \
	fi

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
