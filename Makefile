# One-command set-up for a fresh Debian machine (run as root, or with sudo available).
# Each of run, test and bench installs only what it uses, once: a stamp in .venv marks each
# set of Python packages as installed, and each Debian package is installed only when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_UPDATED := /tmp/.kv-api-apt-updated

export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-fast lint typecheck unit bench soak clean \
	deps deps-run deps-test deps-bench system-deps-run system-deps-test system-deps-bench \
	system-deps-etcd

# Local convenience: older clients log in as admin/presale. Override or disable with
# `make run KV_BOOTSTRAP_USER=` (empty) or your own name:password.
run: deps-run
	KV_BOOTSTRAP_USER="$${KV_BOOTSTRAP_USER-admin:presale}" $(BIN)/kv-api serve

# The suite also checks the benchmark (tests/e2e/test_bench_smoke.py: its wrk scripts and
# chart), so it needs the bench tools too.
test: deps-test deps-bench lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The quick loop: every tier but the tests marked slow (crashes, outages, browser, workers).
test-fast: deps-test deps-bench lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: deps-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# mypy cannot see through the editable install's import hook: give it kv_api as a link to src/.
typecheck: deps-test
	@mkdir -p $(VENV)/typecheck && ln -sfn ../../src $(VENV)/typecheck/kv_api
	$(BIN)/mypy

unit: deps-test
	$(BIN)/python -m pytest -q tests/unit

# etcd, the peer `make bench` compares with, is installed here only: the suite does not need it.
bench: deps-bench $(if $(findstring --no-etcd,$(BENCH_ARGS)),,system-deps-etcd)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The soak test drives the API with aiohttp alone: the runtime is all it needs.
soak: deps-run
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

deps: deps-test deps-bench
deps-run: system-deps-run $(RUN_STAMP)
deps-test: deps-run system-deps-test $(TEST_STAMP)
deps-bench: deps-run system-deps-bench $(BENCH_STAMP)

# $(call apt-install,PACKAGES): one `apt-get update` per boot (the mark is in /tmp), then install.
apt-install = echo "installing Debian packages:$(1)"; \
	[ -f $(APT_UPDATED) ] || { $(SUDO) apt-get update -qq && touch $(APT_UPDATED); }; \
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(1) >/dev/null

# What serving needs: tarantool (the store), the venv module, gcc and the Python headers (the
# write path's C extension, src/infrastructure/_jsonbatch.c, is built at install).
system-deps-run:
	@missing=""; \
	command -v tarantool >/dev/null || missing="$$missing tarantool"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	$(PYTHON) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing); fi

# Headless Chromium for the Swagger UI browser test; curl for the documented curl sessions
# (tests/e2e/test_doc_sessions.py).
system-deps-test:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing); fi

# wrk, the benchmark's load generator.
system-deps-bench:
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing); fi

# etcd-server gives /usr/bin/etcd; the bench starts its own instance on free ports. Its package
# may start and enable a system etcd (on systemd, or where invoke-rc.d may start services):
# when this target installed it, that service is stopped and disabled so nothing keeps running.
system-deps-etcd:
	@if ! command -v etcd >/dev/null; then \
	  $(call apt-install, etcd-server); \
	  if [ -d /run/systemd/system ]; then \
	    $(SUDO) systemctl disable --now etcd.service >/dev/null 2>&1 || true; \
	  elif [ -x /etc/init.d/etcd ]; then \
	    $(SUDO) /etc/init.d/etcd stop >/dev/null 2>&1 || true; \
	    $(SUDO) update-rc.d etcd disable >/dev/null 2>&1 || true; \
	  fi; \
	fi

# Order-only on the system packages: they must come first (even under -j) but do not make the
# Python packages out of date.
$(BIN)/python: | system-deps-run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml setup.py $(wildcard src/infrastructure/*.c src/infrastructure/*.h) \
		| $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

$(BENCH_STAMP): pyproject.toml | $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	@touch $@

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
