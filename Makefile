# The commands of the README. Each creates the virtual environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean-data

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(STAMP)

## run: dev server (SQLite store in data/, UI :8233) + worker + API (:8000), demo policy and people
run: $(STAMP)
	$(BIN)/python -m worker.embedded

## test: the whole suite (unit, time-skipping, dev server, end to end)
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

## lint: ruff (lint, then the formatter as a check) and mypy, configured in pyproject.toml; runs
## all three and fails if any does (CI runs it before the tests)
lint: $(STAMP)
	@rc=0; \
	$(BIN)/ruff check . || rc=1; \
	$(BIN)/ruff format --check . || rc=1; \
	$(BIN)/mypy || rc=1; \
	exit $$rc

## bench: benchmark on the embedded stack beside raw Temporal (bench/README.md); BENCH_ARGS=--quick for a smoke run
bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean-data:
	rm -rf data/
