# CA registration back office: set-up, run and test.
# On a fresh Debian 12 machine `make run` and `make test` do all the set-up
# (system packages via apt, .venv, translations, SoftHSM2 token store).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Steps share .venv and apt: keep them in order even under make -j.
.NOTPARALLEL:

VENV := .venv
PY := .venv/bin/python
FLASK := $(VENV)/bin/flask --app wsgi

# Debian packages: run needs the token library, a CJK font and Pango (WeasyPrint);
# tests also need a browser, poppler (PDF checks), a PostgreSQL server and Redis (the load test
# shares its rate limits across gunicorn's workers through a Redis of its own).
APT_RUN := softhsm2 fonts-wqy-zenhei libpango-1.0-0 libpangoft2-1.0-0
APT_TEST := $(APT_RUN) chromium poppler-utils postgresql redis-server

# SoftHSM2 keeps its tokens under instance/ (if the variable is not exported,
# tokens silently land in /var/lib/softhsm/tokens).
SOFTHSM2_CONF := $(CURDIR)/instance/softhsm2.conf
export SOFTHSM2_CONF

.PHONY: help system-deps-run system-deps-test install install-dev translations \
        softhsm migrate demo run test test-sqlite test-pg screenshots lint messages check-translations \
        check-migrations ci clean bench-review loadtest audit

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up --------------------------------------------------------------

system-deps-run: ## apt-install the system packages the app needs (only missing ones)
	@scripts/apt-ensure.sh $(APT_RUN)

system-deps-test: ## apt-install the system packages the tests need (only missing ones)
	@scripts/apt-ensure.sh $(APT_TEST)

$(PY):
	@echo "==> creating $(VENV)"
	python3 -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(PY)
	@echo "==> pip install -r requirements.txt"
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

# requirements-dev.txt includes requirements.txt, so it satisfies both stamps.
$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(PY)
	@echo "==> pip install -r requirements-dev.txt"
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

install: system-deps-run $(VENV)/.installed-run ## system packages + .venv with runtime requirements

install-dev: system-deps-test $(VENV)/.installed-dev ## system packages + .venv with dev/test requirements

translations: $(VENV)/.installed-run ## compile translations/*.po to .mo (if any)
	@if [ -d translations ] && find translations -name '*.po' -print -quit | grep -q .; then \
		echo "==> compiling translations"; \
		$(VENV)/bin/pybabel compile -d translations; \
	fi

softhsm: ## write instance/softhsm2.conf and the token folder
	@mkdir -p instance/tokens
	@printf '%s\n' \
		'# Written by make; SoftHSM2 token store of this checkout.' \
		'directories.tokendir = $(CURDIR)/instance/tokens' \
		'objectstore.backend = file' \
		'log.level = ERROR' > instance/softhsm2.conf.tmp
	@if cmp -s instance/softhsm2.conf.tmp instance/softhsm2.conf; then \
		rm -f instance/softhsm2.conf.tmp; \
	else \
		mv instance/softhsm2.conf.tmp instance/softhsm2.conf; \
		echo "==> wrote instance/softhsm2.conf"; \
	fi

# --- app -------------------------------------------------------------------

migrate: install softhsm ## apply database migrations (flask db upgrade), then seal what an older instance kept in the clear (storage migrate)
	@echo "==> flask db upgrade"
	$(FLASK) db upgrade
	@echo "==> flask storage migrate (plain upload files and invoice PDFs of an older instance into the encrypted store)"
	$(FLASK) storage migrate

demo: translations migrate ## load demo data and print the demo staff accounts (idempotent)
	@echo "==> flask demo load"
	$(FLASK) demo load
	@echo "==> flask ca ceremony --demo --if-missing (an embedded CA, key files under instance/ca, on the first run; before the demo data, whose keys get its certificates)"
	$(FLASK) ca ceremony --demo --if-missing
	@if [ ! -f instance/.demo-applications ]; then \
		echo "==> flask demo-data --applications 300 (first run only; with their payments and invoices)"; \
		$(FLASK) demo-data --applications 300; \
		echo "==> flask renewal remind (first run only: the reminders due for the demo's year-old keys, which the worker sends daily at 10:30)"; \
		$(FLASK) renewal remind && touch instance/.demo-applications; \
	fi
	@if [ ! -f instance/.demo-keys ]; then \
		echo "==> flask station blank-keys (first run only: SoftHSM2 tokens as a key vendor ships them)"; \
		$(FLASK) station blank-keys --count 5 && touch instance/.demo-keys; \
	fi
	@echo "==> flask station credential station-1 (the demo station's agent credential, once)"
	$(FLASK) station credential station-1 --file instance/station-agent.credential --if-missing
	@echo "==> flask audit seal"
	$(FLASK) audit seal

run: install translations softhsm migrate demo ## set everything up, serve on http://127.0.0.1:5000 with a worker, the signing service and a station agent (Ctrl-C stops all)
	@echo "==> serving on http://127.0.0.1:5000, a worker, the signing service on 127.0.0.1:5001, the station agent on instance/tokens (Procfile)"
	$(VENV)/bin/honcho start -f Procfile

# --- checks --------------------------------------------------------------

test: install-dev translations softhsm ## run the whole suite on SQLite, then the non-browser tests on PostgreSQL
	@rc_sqlite=0; rc_pg=0; \
	echo "==> pytest, SQLite pass (whole suite incl. browser tests)"; \
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest || rc_sqlite=$$?; \
	echo "==> pytest, PostgreSQL pass (not browser)"; \
	scripts/pg-test-cluster.sh $(VENV)/bin/pytest -m "not browser" || rc_pg=$$?; \
	echo "==> SQLite pass: exit $$rc_sqlite; PostgreSQL pass: exit $$rc_pg"; \
	[ "$$rc_sqlite" -eq 0 ] && [ "$$rc_pg" -eq 0 ]

test-sqlite: install-dev translations softhsm ## only the SQLite pass
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest

test-pg: install-dev translations softhsm ## only the PostgreSQL pass (throw-away cluster)
	scripts/pg-test-cluster.sh $(VENV)/bin/pytest -m "not browser"

screenshots: install-dev translations softhsm ## refresh the README's screenshots (docs/screenshots) from the browser tests
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest tests/browser -m browser --update-screenshots

bench-review: install-dev translations ## user actions per decided application in Chromium, by mouse and by keyboard
	$(VENV)/bin/python -m tests.browser.bench_review

loadtest: install-dev translations softhsm ## gunicorn (4 workers) + a worker on a throw-away PostgreSQL with 20,000 applications, locust stepping up until a 5xx or a p95 of 200 ms; prints the sustained rate, then lost/duplicated
	scripts/pg-test-cluster.sh $(PY) -m backoffice.loadtest

audit: $(VENV)/.installed-dev ## pip-audit of the requirements where a vulnerability service is reachable (else: audit skipped)
	@scripts/audit.sh

lint: $(VENV)/.installed-dev ## ruff, and the layer contracts (import-linter, pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Every package of the product (a folder with __init__.py, but the tests) and the templates.
I18N_SOURCES = $(filter-out tests,$(patsubst %/__init__.py,%,$(wildcard */__init__.py))) templates

messages: $(VENV)/.installed-dev ## extract the messages and merge them into the catalogue (then translate the new ones)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext -o translations/messages.pot $(I18N_SOURCES)
	$(VENV)/bin/pybabel update --ignore-obsolete -i translations/messages.pot -d translations

check-translations: $(VENV)/.installed-dev ## every message has its Chinese translation; the catalogue holds no stale entry
	$(VENV)/bin/pytest -q -p no:randomly tests/test_translations.py

check-migrations: install-dev softhsm ## models and migrations agree (flask db check), on SQLite and on PostgreSQL
	@echo "==> migration drift, SQLite"
	env -u TEST_DATABASE_URL scripts/migration-drift.sh
	@echo "==> migration drift, PostgreSQL"
	scripts/pg-test-cluster.sh scripts/migration-drift.sh

ci: lint check-translations check-migrations test ## what CI runs (.ci/run): the checks, then the whole suite

clean: ## remove caches and test artefacts (keeps .venv, instance/ database, tokens and config)
	rm -rf .pytest_cache .ruff_cache .hypothesis test-results
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
