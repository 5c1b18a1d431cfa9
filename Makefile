# Charla: `make run` serves the chat on http://127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL pass of the suite; override to point at another server.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/charla

.PHONY: install run test test-sqlite test-postgres browser axe lint clean bench diagram

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: install
	$(PY) manage.py charla_adopt_tables  # a database from before Charla was a package (charla/chat/legacy.py)
	$(PY) manage.py migrate --noinput
	DJANGO_STATIC_MANIFEST=1 $(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py load_demo
	@echo "Charla on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	DJANGO_STATIC_MANIFEST=1 $(PY) -m config.server --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests; installed when missing and we are allowed to.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium from Debian for the browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "Could not install Chromium: browser tests will say why they skip."; \
	else echo "No Chromium and no root to install it: browser tests will say why they skip."; fi

# axe-core for the accessibility tests: fetched from npm once, checked against its pinned sha512.
axe: install
	$(PY) -m tools.axe >/dev/null

test: install browser axe
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "== Tests on SQLite =="
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres:
	@echo "== Tests on PostgreSQL, with the browser and multi-process tests =="
	env -u REDIS_URL DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest $(PYTEST_ARGS)

# Fan-out benchmark of Charla against a bare broadcast server; e.g. BENCH_ARGS="--quick --only room100".
bench: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The README's layers diagram, drawn from the imports (tests/test_layers.py checks it is current).
diagram: install
	$(PY) -m tools.layers

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache .cache
