# One target per gate. Every target creates the virtual environment and installs first,
# so `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TMF629_DATABASE_URL ?= sqlite+aiosqlite:///./tmf629.db

.PHONY: install migrate run seed test test-python ctk lint bench mutation clean

$(STAMP): pyproject.toml requirements.lock package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	npm ci --silent --no-audit --no-fund
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/tmf629 migrate

run: migrate
	$(BIN)/tmf629 serve

seed: migrate
	$(BIN)/tmf629 seed --count 50

test: install
	$(BIN)/pytest

ctk: install
	$(BIN)/pytest -m ctk

lint: install
	$(BIN)/ruff check app rest schema resolvers tests bench migrations
	$(BIN)/ruff format --check app rest schema resolvers tests bench migrations

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Mutation testing with mutmut 3, on SQLite only. The modules to mutate and the tests to run are listed in
# pyproject.toml ([tool.mutmut]); each run starts afresh so that the scores reflect today's tests.
MUTATION_JOBS ?= 2
mutation: install
	rm -rf mutants
	env -u TMF629_TEST_DATABASE_URL TMF629_UI_ASSETS_DIR=$(CURDIR)/node_modules \
		$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/mutmut results
	$(BIN)/python -c "$$MUTATION_SCORES"

# The score of each mutated module: killed (a timeout counts as killed) out of all its mutants.
define MUTATION_SCORES
import json, pathlib
from mutmut.stats import status_by_exit_code
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    statuses = [status_by_exit_code[code] for code in json.loads(meta.read_text())["exit_code_by_key"].values()]
    killed = statuses.count("killed") + statuses.count("timeout")
    others = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses) - {"killed", "timeout"}))
    module = str(meta.relative_to("mutants")).removesuffix(".meta")
    score = 100 * killed / len(statuses) if statuses else 100.0
    print(f"{module}: {score:.1f}% ({killed}/{len(statuses)} killed{'; ' + others if others else ''})")
endef
export MUTATION_SCORES

clean:
	rm -rf $(VENV) node_modules tmf629.db tmf629.db-wal tmf629.db-shm
