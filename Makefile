# The commands of the README. Each creates the virtual environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-any-hour system-deps lint bench clean-data

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(STAMP)

## run: dev server (SQLite store in data/, UI :8233) + worker + API (:8000), demo policy and people
run: $(STAMP)
	$(BIN)/python -m worker.embedded

## test: the whole suite (unit, time-skipping, dev server, end to end); installs chromium and
## postgresql first when they are missing (tests/setup/system-deps.sh)
test: $(STAMP) system-deps
	@start=$$(date +%s); $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; exit $$rc

## test-any-hour: the tests that use the demo calendars, with those calendars read as London at
## 03:00 on a Sunday, on a bank holiday and across the October clock change (tests/demo_clock.py)
ANY_HOUR_TESTS ?= tests/api tests/workflows
test-any-hour: $(STAMP) system-deps
	@for clock in sunday-night bank-holiday clock-change; do \
	  echo "make test-any-hour: demo clock $$clock"; \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --demo-clock $$clock $(ANY_HOUR_TESTS) || exit 1; \
	done

system-deps:
	@sh tests/setup/system-deps.sh

## lint: ruff (lint, then the formatter as a check), mypy and the import direction between the
## rooms (lint-imports), configured in pyproject.toml; runs all four and fails if any does (CI
## runs it before the tests)
lint: $(STAMP)
	@rc=0; \
	$(BIN)/ruff check . || rc=1; \
	$(BIN)/ruff format --check . || rc=1; \
	$(BIN)/mypy || rc=1; \
	$(BIN)/lint-imports --no-cache || rc=1; \
	exit $$rc

## bench: benchmark on the embedded stack beside raw Temporal (bench/README.md); BENCH_ARGS=--quick for a smoke run
bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean-data:
	rm -rf data/
