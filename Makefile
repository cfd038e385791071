# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-setup
PYTEST_ARGS ?=

.PHONY: setup test test-unit bench lint clean

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[test,tls,bench,lint,docs]'
	touch $(STAMP)

## setup: create .venv and install stompest with its test, TLS, benchmark, lint and docs extras
setup: $(STAMP)

## test: the whole suite, real brokers included (installs and starts them when missing)
test: setup
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## test-unit: everything but the broker tests (no broker needed)
test-unit: setup
	$(BIN)/python -m pytest -ra -m "not broker" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .hypothesis
