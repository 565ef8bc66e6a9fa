# The README's first two commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-10)
export PYTHONDONTWRITEBYTECODE := 1

# kernels: compile the routing kernel into numba's on-disk cache (0.3 s once cached) before anything solves
.PHONY: kernels run test lint typecheck pytest bench bench-routing drills migrate seed serve migration regen-migration clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Node tools (package.json, package-lock.json): the console's JavaScript linter and the TypeScript generator and
# compiler the suite checks the OpenAPI document with (tests/api/test_generated_typescript.py).
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-10)

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

kernels: $(STAMP)
	$(BIN)/python -m routing.warm

## run: install, migrate the embedded SQLite database, load the demo province, serve on HOST:PORT
run: $(STAMP) kernels
	APP_ENV=$${APP_ENV:-development} $(BIN)/python -m backend run

## test: install, then ruff, mypy and the whole pytest suite on SQLite and PostgreSQL
test: $(STAMP) lint typecheck pytest

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_sizes.py
	node_modules/.bin/eslint backend/console/static backend/planning/static

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(NODE_STAMP) kernels
	$(BIN)/python scripts/ensure_browser.py
	$(BIN)/pytest -q

## bench: every benchmark once, printing figures (never part of `make test`; takes ~10 minutes)
bench: $(STAMP) kernels
	$(BIN)/python -m routing.bench C101 C201 R101 R201 RC101 RC201 lc101 lr101 --time-limit 30
	$(BIN)/python -m routing.bench province matrix insertion --time-limit 10
	$(BIN)/python -m bench.booking
	$(BIN)/python -m bench.notifications
	$(BIN)/python -m bench.reporting

## bench-routing: the full routing sets (56 Solomon and 56 Li & Lim at 30 s, one core each, side by side; then
## the two 1000-customer instances at 60 s on both cores): ~32 minutes; summaries in bench-out/
bench-routing: $(STAMP) kernels
	mkdir -p bench-out
	taskset -c 0 $(BIN)/python -m routing.bench solomon --time-limit 30 --solutions-dir bench-out/solutions > bench-out/solomon.txt & \
	taskset -c 1 $(BIN)/python -m routing.bench lilim --time-limit 30 --solutions-dir bench-out/solutions > bench-out/lilim.txt; \
	wait
	tail -n 1 bench-out/solomon.txt bench-out/lilim.txt
	$(BIN)/python -m routing.bench R1_10_1 C1_10_1 --time-limit 60 --workers 2 --solutions-dir bench-out/solutions

## drills: fault drills against the service as production runs it (Granian workers) on a throwaway PostgreSQL
## database: kill -9 of a worker in a booking burst, Redis down, upload disk full, PostgreSQL cut, a private
## PostgreSQL cluster restarted (initdb/pg_ctl), push/Zalo/SMS providers answering 500/429 for a minute, backup
## and restore; prints a table (bench/drills; DRILL_DATABASE_URL, DRILL_REDIS_DB; about ten minutes)
drills: $(STAMP)
	$(BIN)/python -m bench.drills

# The service is production unless told otherwise (backend/settings.py); these targets are the local demo's.
migrate: $(STAMP)
	APP_ENV=$${APP_ENV:-development} $(BIN)/python -m backend migrate

seed: $(STAMP)
	APP_ENV=$${APP_ENV:-development} $(BIN)/python -m backend seed-demo

serve: $(STAMP)
	APP_ENV=$${APP_ENV:-development} $(BIN)/python -m backend serve

## migration: a new Alembic revision from the models, e.g. make migration m="add x"
migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

regen-migration: $(STAMP)
	./scripts/regen_initial_migration.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
