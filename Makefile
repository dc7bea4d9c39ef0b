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

## test: the whole pytest suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## messages: refresh and compile the translation catalogs
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
