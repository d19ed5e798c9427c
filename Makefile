# bihuan — two commands: `make run` (engine on SQLite with demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-zones lint venv clean console

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bihuan needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## Start the engine on SQLite (./var/bihuan.db) with the shipped processes and demo data.
run: $(STAMP)
	BIHUAN_DEMO=1 $(BIN)/bihuan db upgrade
	BIHUAN_DEMO=1 $(BIN)/bihuan demo
	BIHUAN_DEMO=1 $(BIN)/bihuan serve

## Lint, format check, type check, the layers contract (pyproject [tool.importlinter]), then the
## whole test suite (SQLite always; PostgreSQL when BIHUAN_TEST_POSTGRES_URL is set).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_ARGS)

## The suite (SQLite) under other time zones, and the `clock` tests at 23:30 and 00:30 Beijing
## time with the process clock faked (libfaketime): .ci/zones. Set ZONES to choose the zones.
test-zones: $(STAMP)
	PYTEST=$(BIN)/pytest ./.ci/zones

## Rebuild the web console's bundle (console/dist, committed) from console/src: needs Node and npm.
console:
	cd console && npm ci && npm run build

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
