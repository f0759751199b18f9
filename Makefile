# The everyday commands. `make run` serves the archive with the seeds imported; `make test`
# runs the whole suite. Both create the virtualenv in .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
SEEDS ?= seeds/
# `make bench N=1000000` measures one other size (opt-in, not in CI; the stock-Whoosh baseline
# is skipped above 200,000), `BACKEND=whoosh` one backend; BENCH_ARGS overrides both.
N ?=
BACKEND ?=
BENCH_ARGS ?= $(if $(N),--n $(N),--n 10000 --n 100000)$(if $(BACKEND), --backend $(BACKEND))
# A random secret key, written once; settings read it when DJANGO_SECRET_KEY is not set.
SECRET_KEY_FILE := var/secret_key
BENCH_LOAD_ARGS ?=

.PHONY: run test install install-dev migrate import serve lint format bench bench-quick \
	bench-load bench-relevance screenshots test-postgres clean

run: install migrate import
	@echo ""
	@echo "newsarchive is serving on http://$(HOST):$(PORT)/"
	@echo "Admin: create an account with '$(PY) manage.py createsuperuser', then open http://$(HOST):$(PORT)/admin/"
	$(VENV)/bin/gunicorn newsarchive.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --timeout 600 --access-logfile -

test: install-dev
	$(PY) -m pytest

install: $(VENV)/.installed $(SECRET_KEY_FILE)

install-dev: $(VENV)/.installed-dev $(SECRET_KEY_FILE)

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SECRET_KEY_FILE):
	mkdir -p $(@D)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@.tmp
	mv $@.tmp $@

migrate: install
	$(PY) manage.py migrate --verbosity 0

import: install migrate
	$(PY) manage.py import_seeds $(SEEDS)

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Speed is measured here, never in the tests. Reads ../shared/corpus when present (--corpus).
# Both backends: PostgreSQL on $$BENCH_DATABASE_URL, or a throwaway server (needs postgresql).
# The load run imports ../shared/corpus's two corpora (or 20,000 synthetic articles) and serves
# them with gunicorn as `make run` does, on a free port of 127.0.0.1; it fails on any error.
# `bench threads` imports the real corpora with and without story threads (bench/threads.py).
bench: install-dev
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-$$(bash scripts/test-postgres.sh start 2>/dev/null)} \
		$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.export
	$(PY) -m bench.admin
	$(PY) -m bench load $(BENCH_LOAD_ARGS)
	$(MAKE) --no-print-directory bench-relevance
	$(PY) -m bench threads

bench-load: install-dev
	$(PY) -m bench load $(BENCH_LOAD_ARGS)

# The judged query sets: mean P@10, MRR, nDCG@10 of the project's search and plain BM25 on the
# Reuters seeds of ../shared (skipped when they are absent; the import is cached in /tmp): the
# dev set, then bench/judgments' two check sets (never tuned on; the second on the BBC seeds).
bench-relevance: install-dev
	$(PY) -m bench relevance
	$(PY) -m bench relevance --judgments bench/judgments/reuters-check.tsv \
		--out bench/results/relevance-reuters-check.json
	$(PY) -m bench relevance --judgments bench/judgments/bbc-derived.tsv \
		--corpus ../shared/corpus/bbc-seeds.tar.gz --out bench/results/relevance-bbc-derived.json

bench-quick: install-dev
	$(PY) -m bench --quick
	$(PY) -m bench load --quick

screenshots: install-dev
	$(PY) -m pytest articles/tests/browser/test_screenshots.py -q -p no:randomly --screenshots-dir docs/screenshots

# The suite again on a throwaway PostgreSQL cluster (needs the postgresql package; run as root).
test-postgres: install-dev
	TEST_DATABASE_URL=$$(bash scripts/test-postgres.sh start) $(PY) -m pytest -m postgres -v

clean:
	rm -rf $(VENV) var staticfiles test-artifacts .pytest_cache .ruff_cache
