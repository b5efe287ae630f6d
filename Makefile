# The two commands: `make run` starts the bot, `make test` runs the checks and tests.
# Both create what they need (.venv, packages, ./data) and are safe to run again.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test check lint format bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]'
	touch $(VENV)/.installed $@

data:
	mkdir -p data

run: $(VENV)/.installed data
	$(PY) -m bot

# Tests come in two tiers: tests/fast (marker `fast`: the real Application fed updates
# in-process, no Whisper model, no HTTP server, ~20 s) and the end-to-end tests in tests/
# (real HTTP against tests/support/telegram_server.py, the real model).
#
# `make test` runs both tiers twice: on SQLite files, then on a throwaway PostgreSQL server
# (tests/support/with_postgres.sh installs Debian's postgresql if needed, starts the cluster
# with its time zone away from UTC, and always removes it; without PostgreSQL it says so in one
# line and only SQLite runs). The PostgreSQL run leaves out, by file, the suites that touch no
# database (pure logic: the time phrases, the fake Bot API server, the Whisper model, /trigger
# parsing) and the fast tier (always an SQLite file). Both runs happen even if the first fails;
# the exit code says if either failed. Each run uses PYTEST_WORKERS pytest-xdist workers: most
# end-to-end tests wait on I/O, so 3 workers keep 2 cores busy (each worker loads the model once).
# Tests marked `serial` need the PostgreSQL server to themselves (the on-disk /delete check:
# other databases' open transactions let VACUUM FULL keep deleted rows), so they run after the
# workers, alone, on a cluster of their own (on SQLite they skip themselves).
PYTEST_WORKERS ?= 3
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS)
PG_SKIP_FILES := tests/test_timespec.py tests/test_telegram_server.py \
	tests/test_transcription.py tests/test_trigger_reading.py tests/fast

test: $(VENV)/.installed-dev data
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	status=0; \
	$(PYTEST) || status=$$?; \
	PYTHON=$(PY) tests/support/with_postgres.sh \
		$(PYTEST) -m "not serial" $(addprefix --ignore=,$(PG_SKIP_FILES)) || status=$$?; \
	PYTHON=$(PY) tests/support/with_postgres.sh \
		$(PY) -m pytest -q -m serial $(addprefix --ignore=,$(PG_SKIP_FILES)) || status=$$?; \
	exit $$status

# The quick check before a commit: formatting, lint, types, and the fast tier only.
check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy  # strict on bot/, handlers/, storage/ (pyproject [tool.mypy])
	$(PY) -m pytest -q -m fast tests/fast

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks print figures (each next to a peer measured in the same run), never assert;
# loop_stall.py: how long the event loop pauses while memos are transcribed. openai-whisper
# is compared where `make bench-extra` installed it. fanout.py: 10,000 people's pings due in
# the same minute through the real bot and the test server (about 25 minutes: the bot sends
# at Telegram's 30 messages/s), and memory per scheduled job at 10,000 and 100,000 jobs.
bench: $(VENV)/.installed-dev
	$(PY) bench/transcribe.py
	$(PY) bench/loop_stall.py
	$(PY) bench/fanout.py

bench-extra: $(VENV)/.installed-dev
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[openai-whisper]'

clean:
	rm -rf $(VENV)
