# Two entry points: `make run` (gateway with demo data) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint setup lock mutation

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

# Mutation testing of the money path and the fingerprint comparator ([tool.mutmut]); the
# surviving mutants (changes no test noticed) are listed in benchmarks/results/mutation.txt.
# Takes hours on two cores: MUTATION_TIME bounds it, what is left is reported "not checked".
MUTATION_TIME ?= 60m
mutation: $(STAMP)
	timeout $(MUTATION_TIME) nice -n 15 $(BIN)/mutmut run --max-children 1 || true
	$(BIN)/satupintu-bench mutation
