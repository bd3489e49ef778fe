# One-command set-up for a fresh Debian machine (run as root, or with sudo available).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_UPDATED := /tmp/.kv-api-apt-updated

export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-fast lint typecheck unit bench soak clean system-deps browser-deps deps

# Local convenience: older clients log in as admin/presale. Override or disable with
# `make run KV_BOOTSTRAP_USER=` (empty) or your own name:password.
run: deps
	KV_BOOTSTRAP_USER="$${KV_BOOTSTRAP_USER-admin:presale}" $(BIN)/kv-api serve

test: deps browser-deps lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The quick loop: every tier but the tests marked slow (crashes, outages, browser, workers).
test-fast: deps lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# mypy cannot see through the editable install's import hook: give it kv_api as a link to src/.
typecheck: deps
	@mkdir -p $(VENV)/typecheck && ln -sfn ../../src $(VENV)/typecheck/kv_api
	$(BIN)/mypy

unit: deps
	$(BIN)/python -m pytest -q tests/unit

bench: deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

soak: deps
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

deps: system-deps $(STAMP)

# Debian packages: tarantool (the store), wrk (bench load generator), gcc and the Python
# headers (the write path's C extension, src/infrastructure/_jsonbatch.c).
system-deps:
	@missing=""; \
	command -v tarantool >/dev/null || missing="$$missing tarantool"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	$(PYTHON) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && touch $(APT_UPDATED); \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# Headless Chromium for the Swagger UI browser test.
browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  echo "installing Debian package: chromium"; \
	  [ -f $(APT_UPDATED) ] || { $(SUDO) apt-get update -qq && touch $(APT_UPDATED); }; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

$(STAMP): pyproject.toml setup.py $(wildcard src/infrastructure/*.c src/infrastructure/*.h)
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
