# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-setup
PYTEST_ARGS ?=

.PHONY: setup test test-unit compat bench lint clean

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[test,tls,bench,lint,docs]'
	touch $(STAMP)

## setup: create .venv and install stompest with its test, TLS, benchmark, lint and docs extras
setup: $(STAMP)

## test: `make compat` (stompest 2.3.0's own suites, about a minute), then the whole suite, real brokers
##       included (installs and starts them when missing); pytest's summary is the last line
test: setup brokers-install
	$(MAKE) --no-print-directory compat
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## test-unit: everything but the broker tests (no broker needed)
test-unit: setup
	$(BIN)/python -m pytest -ra -m "not broker" $(PYTEST_ARGS)

## compat: stompest 2.3.0's own test suites against this tree, unit and on ActiveMQ (downloads the
##         2.3.0 sdists with pip into .compat/, sha256-checked; expected failures: tests/compat/expected.txt)
COMPAT_ARGS ?=
compat: setup
	$(BIN)/python tests/compat/run.py $(COMPAT_ARGS)

## bench: the parser/serialisation benchmark, then the end-to-end one against local brokers
bench: setup brokers-start
	$(BIN)/python tests/benchmarks/bench_parser.py
	$(BIN)/python tests/benchmarks/bench_e2e.py

clean:
	rm -rf $(VENV) build dist *.egg-info .hypothesis .compat

.PHONY: docs typecheck

## docs: build the HTML docs into docs/_build/html (warnings are errors) and run their code examples
docs: setup
	$(BIN)/python -m sphinx -E -W --keep-going -b html docs docs/_build/html
	$(BIN)/python -m sphinx -E -W --keep-going -b doctest docs docs/_build/doctest

## lint: ruff check and ruff format --check, with the rules in ruff.toml
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## typecheck: mypy on the package, with the settings in mypy.ini
typecheck: setup
	$(BIN)/python -m mypy stompest

.PHONY: demo build

DEMO_ARGS ?= --mode both
BROKERS := scripts/brokers/brokers

## demo: install and start a local ActiveMQ, run `stompest demo --mode both` (Twisted producer -> transformer -> consumer,
##       per-message receipts then transactions, their throughputs side by side)
##       against it, and stop the broker again unless it was already running (also after a failure or Ctrl-C;
##       the demo's exit status is kept)
demo: setup
	@trap : INT TERM; state=$$($(BROKERS) status activemq | awk '{ print $$2 }'); \
	$(BROKERS) install activemq && $(BROKERS) start activemq || exit 1; \
	STOMP_URI=tcp://127.0.0.1:61613 $(BIN)/stompest demo $(DEMO_ARGS); rc=$$?; \
	if [ "$$state" = stopped ]; then $(BROKERS) stop activemq || { [ $$rc -ne 0 ] || rc=1; }; \
	else echo "activemq was already running ($$state): left running"; fi; \
	exit $$rc

## build: the sdist and the wheel, into dist/
build: setup
	$(BIN)/python -m pip install -q build
	$(BIN)/python -m build --outdir dist .

.PHONY: brokers-install brokers-start brokers-stop brokers-status

# Which brokers the brokers-* targets act on: all, or e.g. BROKER_NAMES="activemq rabbitmq"
BROKER_NAMES ?= all

## brokers-install: apt-get install ActiveMQ and RabbitMQ when missing, write TLS material and configs to .brokers/
brokers-install:
	$(BROKERS) install $(BROKER_NAMES)

## brokers-start: start activemq, activemq2 and rabbitmq on 127.0.0.1 (idempotent; waits for a STOMP CONNECTED)
brokers-start: brokers-install
	$(BROKERS) start $(BROKER_NAMES)

## brokers-stop: stop the brokers scripts/brokers/brokers started (by recorded pid)
brokers-stop:
	$(BROKERS) stop $(BROKER_NAMES)

## brokers-status: one line per broker (running/stopped, pid, ports)
brokers-status:
	@$(BROKERS) status $(BROKER_NAMES)
