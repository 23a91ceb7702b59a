# TraceTrack. `make run` starts the app on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test venv migrate lint check-deploy clean bench messages messages-collect

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Development server on the embedded default (SQLite under var/, local-memory cache).
# Logs are human lines here (LOG_FORMAT=text); production's are JSON.
run: venv
	DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text} $(PY) manage.py recount_stats --repair
	DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text} $(PY) manage.py runserver 0.0.0.0:$(PORT)

# The whole suite. Uses DATABASE_URL / REDIS_URL when set (PostgreSQL + Redis), else SQLite
# and the local-memory cache. Extra pytest arguments: make test ARGS="-k undo".
test: venv
	$(VENV)/bin/pytest $(ARGS)

migrate: venv
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The production settings pass Django's deployment checklist.
check-deploy: venv
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-check-deploy-$$(date +%s)-a-long-random-looking-secret-value} \
	ALLOWED_HOSTS=tracetrack.example.com $(PY) manage.py check --deploy --fail-level WARNING

# Load benchmark on PostgreSQL + Redis behind gunicorn_production.py: seeds tt_bench_* when
# needed, compares worker classes, measures the /health/ floor, 50/200/500 users and the
# scale check, and writes bench/REPORT.md + bench/chart.png. Knobs (BENCH_SIZES, BENCH_USERS,
# BENCH_DURATION, BENCH_CLASSES, ...): see bench/run.py.
# The Hindi catalogue (locale/hi): `make messages` collects every marked string of the
# templates, the Python code and static/js into the .po files (new entries then need their
# Hindi: tests/i18n fails until each has one) and compiles the .mo files, which are committed
# with them. Needs gettext (xgettext, msgfmt).
MESSAGE_IGNORES := --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=demo --ignore=tools --ignore=reports
messages-collect:
	SECRET_KEY=messages DEBUG=1 $(PY) manage.py makemessages -l hi -d django --no-obsolete $(MESSAGE_IGNORES)
	SECRET_KEY=messages DEBUG=1 $(PY) manage.py makemessages -l hi -d djangojs --no-obsolete $(MESSAGE_IGNORES)

messages: venv messages-collect
	SECRET_KEY=messages DEBUG=1 $(PY) manage.py compilemessages -l hi --ignore=.venv

bench: venv
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
