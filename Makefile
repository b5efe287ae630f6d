# The two commands: `make run` starts the bot, `make test` runs the checks and tests.
# Both create what they need (.venv, packages, ./data) and are safe to run again.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint format bench clean

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

test: $(VENV)/.installed-dev data
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks print figures; openai-whisper is compared where `make bench-extra` installed it.
bench: $(VENV)/.installed-dev
	$(PY) bench/transcribe.py

bench-extra: $(VENV)/.installed-dev
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[openai-whisper]'

clean:
	rm -rf $(VENV)
