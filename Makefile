# One target per gate. Every target creates the virtual environment and installs first,
# so `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TMF629_DATABASE_URL ?= sqlite+aiosqlite:///./tmf629.db

.PHONY: install migrate run seed test test-python ctk lint bench clean

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

clean:
	rm -rf $(VENV) node_modules tmf629.db tmf629.db-wal tmf629.db-shm
