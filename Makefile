# kommunvakt: `make run` starts the platform on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-fast lint typecheck bench system-deps flux-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kommunvakt run --simulate

system-deps:
	bash scripts/system-deps.sh

# The Flux language server (npm, pinned by tests/flux/package-lock.json) for tests/test_flux_check.py
FLUX_LSP := tests/flux/node_modules/.package-lock.json

$(FLUX_LSP): tests/flux/package-lock.json
	npm ci --prefix tests/flux --no-audit --no-fund --loglevel=error

flux-deps: system-deps $(FLUX_LSP)

test: $(STAMP) system-deps flux-deps
	$(BIN)/python -m pytest

test-fast: $(STAMP) $(FLUX_LSP)
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) system-deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/flux/node_modules
