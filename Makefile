# Courier Partner Portal. `make run`: the portal with demo data. `make test`: install and test everything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
DEMO_PASSWORD ?= portal-demo-2026
TRANSLATIONS := portal/translations
export FLASK_APP := wsgi

.PHONY: run serve test test-sqlite test-postgres lint format deps system-deps translations translations-update

# The web server and, beside it, the jobs consumer that checks and applies imports (portal/jobs.py). The consumer
# stops with this shell however it ends (--parent: it watches the shell); Ctrl-C reaches only the web server, and
# the trap then sends the consumer one SIGINT, which lets a running import finish.
run: deps translations instance/config.py
	$(BIN)/flask --app wsgi db upgrade
	-$(BIN)/flask --app wsgi seed-demo --password '$(DEMO_PASSWORD)'
	@echo
	@echo "  Courier Partner Portal: open http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as seller1, courier1, packer1 or operator, password: $(DEMO_PASSWORD)"
	@echo
	$(BIN)/flask --app wsgi jobs-consumer --parent $$$$ & jobs=$$!; \
	trap 'kill -INT $$jobs 2>/dev/null; wait $$jobs' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

# Production: gunicorn with gunicorn.conf.py (WEB_CONCURRENCY workers, logs to stdout) on DATABASE_URL,
# SECRET_KEY from the environment. Migrates first; stops in one line if the database is unreachable.
# gunicorn.conf.py starts the jobs consumer with the master and stops it on exit (PORTAL_JOBS_CONSUMER=off: not).
serve: deps translations
	$(BIN)/flask --app wsgi check-db --connect-only
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py

test: system-deps deps translations lint test-sqlite test-postgres

test-sqlite:
	$(BIN)/python -m pytest -q

test-postgres:
	tests/with_postgres.sh $(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

deps: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# What the tests need from Debian: the PostgreSQL server for the second pass, Chromium to print
# labels, poppler-utils to rasterise PDFs, a Chinese font for labels, Redis for shared rate limits.
SYSTEM_PACKAGES := postgresql chromium fonts-wqy-microhei poppler-utils libcairo2 redis-server
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else echo "missing Debian packages: sudo apt-get install $$missing"; fi; \
	fi

translations: deps
	$(BIN)/pybabel compile -f -d $(TRANSLATIONS)

# After changing user-visible text: extract, merge, then translate the new entries in the .po file.
translations-update: deps
	$(BIN)/pybabel extract -F $(TRANSLATIONS)/babel.cfg -k _l --no-location --sort-output -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching

instance/config.py:
	@mkdir -p instance
	@$(PY) -c 'import secrets; print("# Local secrets, made by make run.\nSECRET_KEY = %r\n# Plain http on this machine; behind https leave the secure default.\nSESSION_COOKIE_SECURE = False\nREMEMBER_COOKIE_SECURE = False" % secrets.token_hex(32))' > $@
	@echo "wrote $@ with a new SECRET_KEY"
