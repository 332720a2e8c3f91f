# Transaction status gateway — developer entry points.
#
#   make run     install into .venv, migrate, load demo data, serve the portal
#   make test    install test extras + system deps, ruff, import contracts, mypy, pytest
#
# Everything lives in ./.venv (created on demand); nothing is installed globally
# except the Debian packages scripts/system-deps.sh adds when run as root.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
PYTEST_ARGS ?=

# Repository root (directory of this Makefile), used to keep `clean` inside it.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# pip: quiet, never prompt, never let the "new pip available" check matter.
PIP := $(BIN)/python -m pip
PIP_FLAGS := -q --disable-pip-version-check --no-input
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
DEPS       := setup.cfg pyproject.toml

.PHONY: help venv install install-test run test-deps test lint bench clean

help: ## show this help
	@echo "Usage: make <target>   (PYTHON=$(PYTHON), venv in $(VENV)/)"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(lastword $(MAKEFILE_LIST)) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "  make test PYTEST_ARGS='-k inquiry -x'   pass extra arguments to pytest"
	@echo "  .ci/run                                 full CI: make test, then the suite on PostgreSQL"

# --- virtualenv ------------------------------------------------------------

$(BIN)/python:
	@echo ">> creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed (on Debian: apt-get install python3-venv)" >&2; \
	  exit 1; }

venv: $(BIN)/python ## create .venv only

# Reinstall only when packaging metadata changes (or the venv is new).
$(STAMP_RUN): $(DEPS) | $(BIN)/python
	@echo ">> pip install -e ."
	$(PIP) install $(PIP_FLAGS) -e .
	@touch $@

# The test extras are a superset of the runtime install, so refresh both stamps.
$(STAMP_TEST): $(DEPS) | $(BIN)/python
	@echo ">> pip install -e '.[test]'"
	$(PIP) install $(PIP_FLAGS) -e '.[test]'
	@touch $@ $(STAMP_RUN)

install: $(STAMP_RUN) ## install the package into .venv

install-test: $(STAMP_TEST) ## install the package with test extras into .venv

# --- everyday targets ------------------------------------------------------

run: $(STAMP_RUN) ## migrate, load demo data (if empty) and serve the portal
	mkdir -p var
	$(BIN)/gateway db upgrade
	$(BIN)/gateway demo-data --if-empty
	exec $(BIN)/gateway run

# The SMSC peer the SMS tests talk to (npm `smpp`); reinstall only when its lock changes.
# npm ci empties node_modules first, so the stamp inside it goes with a stale install.
SMSC_PEER  := tests/peers/smsc
STAMP_SMSC := $(SMSC_PEER)/node_modules/.installed-stamp

$(STAMP_SMSC): $(SMSC_PEER)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  echo ">> npm ci ($(SMSC_PEER))"; \
	  cd $(SMSC_PEER) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed-stamp; \
	else \
	  echo "note: npm not found; the SMSC peer tests will skip (and fail under CI=true)" >&2; \
	fi

# The static checks: style, the import contracts (setup.cfg [importlinter]), types ([mypy]).
define CHECKS
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/mypy
endef

test-deps: $(STAMP_TEST) $(STAMP_SMSC) ## what the tests need: test extras, npm peers, system deps (chromium, fonts)
	bash scripts/system-deps.sh

test: test-deps ## system deps (chromium, fonts), npm peers, ruff, lint-imports, mypy, pytest [PYTEST_ARGS=...]
	$(CHECKS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_TEST) ## ruff, lint-imports (architecture contracts), mypy
	$(CHECKS)

bench: $(STAMP_RUN) ## HTTP inquiry benchmark (bench/inquiry_http.py)
	mkdir -p var
	$(BIN)/python bench/inquiry_http.py

clean: ## remove .venv, var/ (stops the CI PostgreSQL first), caches, build output
	@cd '$(ROOT)' && test -f setup.cfg && test -f Makefile || { echo "refusing to clean: '$(ROOT)' is not the repo root" >&2; exit 1; }
	@cd '$(ROOT)' && if [ -f var/ci-postgres/state ]; then bash .ci/postgres.sh stop || true; fi
	cd '$(ROOT)' && rm -rf ./.venv ./var ./.pytest_cache ./.ruff_cache ./.mypy_cache ./build ./dist ./bench/out ./*.egg-info
	cd '$(ROOT)' && find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	cd '$(ROOT)' && find . -path ./.git -prune -o -name '*.py[co]' -type f -exec rm -f {} +
