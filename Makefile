# The two commands: `make run` starts the bot, `make test` runs the checks and tests.
# Both create what they need (.venv, packages, ./data) and are safe to run again.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run demo test test-openai check lint format bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-demo: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[demo]'
	touch $(VENV)/.installed $@

data:
	mkdir -p data

run: $(VENV)/.installed data
	$(PY) -m bot

# Try it without Telegram: the real bot against the local Bot API test server, a chat in this
# terminal, a clock /wait fast-forwards. Its own database, ./data/demo.db (new each run); no
# token. demo/ imports tests/support/telegram_server.py, so it runs from this checkout.
demo: $(VENV)/.installed-demo data
	$(PY) -m demo

# Tests come in two tiers: tests/fast (marker `fast`: the real Application fed updates
# in-process, no Whisper model, no HTTP server, ~20 s) and the end-to-end tests in tests/
# (real HTTP against tests/support/telegram_server.py, the real model).
#
# `make test` runs both tiers twice: on SQLite files, then on a throwaway PostgreSQL server
# (tests/support/with_postgres.sh installs Debian's postgresql if needed, starts the cluster
# with its time zone away from UTC, and always removes it; without PostgreSQL it says so in one
# line and only SQLite runs). The PostgreSQL run leaves out, by file, the suites that touch no
# database (pure logic: the time phrases, the fake Bot API server, the Whisper model, /trigger
# parsing, the HTTP transport), the fast tier and the demo (both always an SQLite file). Both runs happen even if
# the first fails; the exit code says if either failed. Each run uses PYTEST_WORKERS pytest-xdist workers: most
# end-to-end tests wait on I/O, so 3 workers keep 2 cores busy (each worker loads the model once).
# Tests marked `serial` need the PostgreSQL server to themselves (the on-disk /delete check:
# other databases' open transactions let VACUUM FULL keep deleted rows), so they run after the
# workers, alone, on a cluster of their own (on SQLite they skip themselves).
PYTEST_WORKERS ?= 3
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS)
PG_SKIP_FILES := tests/test_timespec.py tests/test_telegram_server.py \
	tests/test_transcription.py tests/test_trigger_reading.py tests/fast \
	tests/test_demo.py tests/test_http_client.py

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

# The openai-whisper engine for real, in a venv of its own (.venv-openai: the extra pulls torch,
# which the main venv does not carry): torch==2.13.0 first (a CPU build; a plain `torch` would
# pull GBs of CUDA), then the project with the dev and openai-whisper extras. ffmpeg, which
# openai-whisper runs to decode audio, comes from Debian if missing (tests/support/ensure_ffmpeg.sh).
# Runs tests/openai (marker `openai`; a run that does not name that directory leaves it out):
# the bundled tiny.en converted to a .pt (cached in ~/.cache/between), the fixtures' WER, bad
# input, silence, too long, build_transcriber, one voice memo through the bot. A missing
# engine fails, never skips.
OPENAI_VENV ?= .venv-openai
OPENAI_PY := $(OPENAI_VENV)/bin/python
OPENAI_PIP := $(OPENAI_PY) -m pip --disable-pip-version-check -q

$(OPENAI_VENV)/.installed-openai: pyproject.toml
	test -x $(OPENAI_PY) || $(PYTHON) -m venv $(OPENAI_VENV)
	$(OPENAI_PIP) install torch==2.13.0
	$(OPENAI_PIP) install -e '.[dev,openai-whisper]'
	touch $@

test-openai: $(OPENAI_VENV)/.installed-openai data
	tests/support/ensure_ffmpeg.sh
	$(OPENAI_PY) -m pytest -p no:xdist -m openai tests/openai

# The quick check before a commit: formatting, lint, types, and the fast tier only.
check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy  # strict on bot/, handlers/, storage/, demo/ (pyproject [tool.mypy])
	$(PY) -m pytest -q -m fast tests/fast

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks print figures (each next to a peer measured in the same run), never assert.
# engines.py: every engine setting, openai-whisper through .venv-openai's interpreter;
# loop_stall.py: worker layouts against the cores and the event loop's pauses meanwhile;
# latency.py: the real bot through the test server (memo -> transcript, /recall meanwhile,
# idle CPU and RSS) next to a minimal PTB bot with the same engine, ~1.5 min;
# fanout.py: 10,000 people's pings due in the same minute through the real bot and the test
# server (about 25 minutes: the bot sends at Telegram's 30 messages/s), and memory per
# scheduled job at 10,000 and 100,000 jobs;
# burst.py: 40 people send 5 sentences each within a second (4 a memo too): reply latency of
# the bot, of the bot with every answer in the 30 msg/s budget, and of a minimal PTB bot, ~1.5 min;
# scale.py: memos per minute with 1, 2 and 4 `python -m bot worker` processes on the queue next
# to the in-process pool, and queue latency (on a throwaway PostgreSQL it starts itself);
# http_client.py: CPU per Bot API request, PTB's HTTPXRequest next to bot/http_client.py.
# The figures and the machine they came from are in bench/RESULTS.md.
bench: $(VENV)/.installed-dev $(OPENAI_VENV)/.installed-openai
	$(PY) bench/engines.py --openai-python $(OPENAI_PY)
	$(PY) bench/loop_stall.py
	$(PY) bench/latency.py
	$(PY) bench/fanout.py
	$(PY) bench/burst.py
	$(PY) bench/http_client.py
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) $(OPENAI_VENV)
