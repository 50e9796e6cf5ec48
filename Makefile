# Two entry points: `make run` (gateway with demo data) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint setup lock

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/satupintu db upgrade
	$(BIN)/satupintu demo
	$(BIN)/satupintu serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# Re-pin the image's dependencies (requirements.lock) after editing pyproject.toml.
lock: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH sh deploy/lock.sh
