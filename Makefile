# Ruralshop: `make run` serves the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

## run: web server on http://127.0.0.1:8000, Celery worker and beat; Ctrl-C stops all three
run: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" bin/run

## test: the whole pytest suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set),
## in TEST_WORKERS processes (pytest-xdist; each has its own test database, Redis database and var/ folder)
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## bench: the headline figures against PostgreSQL and Redis behind gunicorn (bench/run.py; docs/PERFORMANCE.md)
## (BENCH_DB names its database, default ruralshop_bench; BENCH_ONLY=dispatch runs the dispatch phase alone)
BENCH_DB ?= ruralshop_bench
bench: $(VENV)/.installed-dev
	psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = '$(BENCH_DB)'" | grep -q 1 \
	  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $(BENCH_DB)"
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$(BENCH_DB)}" $(BIN)/python bench/run.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

## messages: refresh and compile the translation catalogs
messages: $(VENV)/.installed-dev
	RURALSHOP_ENV=development $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var
	RURALSHOP_ENV=development $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
