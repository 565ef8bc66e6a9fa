# The README's first two commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-10)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck pytest bench migrate seed serve migration regen-migration browsers clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## run: install, migrate the embedded SQLite database, load the demo province, serve on HOST:PORT
run: $(STAMP)
	$(BIN)/python -m backend run

## test: install, then ruff, mypy and the whole pytest suite on SQLite and PostgreSQL
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python scripts/ensure_browser.py
	$(BIN)/pytest -q

## bench: routing, booking, notification and report benchmarks (print figures; never part of `make test`)
bench: $(STAMP)
	$(BIN)/python -m routing.bench solomon-sample --time-limit 30
	$(BIN)/python -m routing.bench province --time-limit 30

migrate: $(STAMP)
	$(BIN)/python -m backend migrate

seed: $(STAMP)
	$(BIN)/python -m backend seed-demo

serve: $(STAMP)
	$(BIN)/python -m backend serve

## migration: a new Alembic revision from the models, e.g. make migration m="add x"
migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

regen-migration: $(STAMP)
	./scripts/regen_initial_migration.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
