# Omni: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: demo demo-worker test test-sqlite install lint format bench services-check clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## install: the virtualenv, then the compiled translations (GNU gettext's msgfmt, from apt if missing)
install: $(STAMP)
	@command -v msgfmt >/dev/null 2>&1 || { \
	  as_root() { if [ "$$(id -u)" = 0 ]; then "$$@"; else sudo "$$@"; fi; }; \
	  echo "install: apt-get install gettext" >&2; \
	  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq gettext >&2; }
	$(PY) manage.py compilemessages --ignore '$(VENV)/*' --verbosity 0

## demo: SQLite, demo data loaded once, served on 127.0.0.1:8000 with a Celery worker and beat beside it
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --with-kpis
	$(PY) manage.py relay_outbox
	@echo
	@echo "Omni is on http://127.0.0.1:8000/"
	@echo "  admin:    http://127.0.0.1:8000/admin/   (password omni-demo for: admin = superuser, negozio = clerk of one store, direzione = head office)"
	@echo "  dashboards: http://127.0.0.1:8000/dashboards/ (admin or direzione)"
	@echo "  API docs: http://127.0.0.1:8000/api/docs/"
	@echo "  schema:   http://127.0.0.1:8000/api/schema/"
	@echo "  scheduled jobs: a Celery worker with beat, on a broker of files in .broker/ (make demo-worker)"
	@echo
	@# The worker runs beside the server and stops with it (Ctrl-C, or the server failing to start).
	@$(DEMO_CELERY) $(DEMO_WORKER) & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(DEMO_CELERY) $(PY) manage.py runserver 127.0.0.1:8000

# The demo's Celery: a broker of files in .broker/ (no server to run) and every periodic job at least every
# 5 minutes; one worker on every queue, with the scheduler (beat) embedded. tests/omni/test_demo_worker.py
# starts it through `make demo-worker`.
DEMO_CELERY = CELERY_BROKER_URL=filesystem:// CELERY_BEAT_EVERY_SECONDS=$${CELERY_BEAT_EVERY_SECONDS:-300}
DEMO_WORKER = $(PY) -m celery -A omni worker --beat --pool=solo --loglevel=$${CELERY_LOG_LEVEL:-WARNING} \
	--without-gossip --without-mingle --without-heartbeat --hostname=omni-demo@%h \
	--queues=$$($(PY) -c 'from omni.settings import WORKER_QUEUES; print(",".join(WORKER_QUEUES))')

## demo-worker: the demo's Celery worker and beat alone, in the foreground
demo-worker:
	@$(DEMO_CELERY) exec $(DEMO_WORKER)

## test: lint, the whole suite on a throw-away PostgreSQL and Redis, then again on SQLite
test: install lint
	START_REPLICA=1 tests/services.sh $(PY) -m pytest
	$(MAKE) --no-print-directory test-sqlite

## test-sqlite: the suite on SQLite (the embedded default's code paths), without the postgres_only tests and
## the browser tests (they pass on SQLite too, but would add minutes to `make test` for no branch of their own);
## eager Celery and the in-memory cache, so no service is started or used
test-sqlite: install
	env -u DATABASE_REPLICA_URLS -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND -u CACHE_URL \
	  DATABASE_URL=sqlite:///$(CURDIR)/.services/sqlite-tests.sqlite3 $(PY) -m pytest -m "not postgres_only and not browser"

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m tests.architecture
	$(VENV)/bin/mypy omni/*/services.py omni/*/selectors.py $$(ls */services.py */services/*.py */selectors.py */moving_in.py 2>/dev/null)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: the benchmarks in bench/ on PostgreSQL, figures into BENCHMARKS.md
bench: install
	tests/services.sh $(PY) -m bench

clean:
	rm -rf .services .broker db.sqlite3 db.sqlite3-* staticfiles
