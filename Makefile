# knpy: the verbs. `make run` and `make test` are the two a new user needs;
# both set up what they need first (idempotent, cached).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
CACHE  ?= $(HOME)/.cache/knpy
export KNPY_CACHE := $(CACHE)

# Everything pip/Cython needs to rebuild the venv or the extensions.
SETUP_INPUTS := pyproject.toml setup.py $(wildcard cext/*.pxd) $(wildcard components/runtime/hotpath/*_py.py)

.PHONY: help
help:
	@echo "make run          bring up the local stack and serve a sample"
	@echo "make test         set up, lint, and run every test tier (what CI runs)"
	@echo "make setup        create .venv, install knpy + dev tools, compile the Cython hot paths"
	@echo "make unit         fast in-process tests"
	@echo "make integration  real processes on 127.0.0.1"
	@echo "make e2e          the local Kubernetes cluster"
	@echo "make lint         ruff + import layering"
	@echo "make bench        micro and proxy benchmarks; prints RESULT lines"
	@echo "make loadtest     Locust scenarios with SLOs"

# ---------------------------------------------------------------- setup
.PHONY: setup ext sysdeps
setup: $(VENV)/.installed

$(VENV)/.installed: $(SETUP_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel "Cython>=3.0.10"
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) setup.py -q build_ext --inplace
	touch $@

# Recompile the hot paths after editing a *_py.py twin or a .pxd.
ext: setup
	$(PY) setup.py -q build_ext --inplace

# System packages the tests and benchmarks really need (Debian, root).
SYSDEPS := nats-server nginx-light wrk
sysdeps: $(CACHE)/.sysdeps
$(CACHE)/.sysdeps:
	@mkdir -p $(CACHE)
	hack/sysdeps.sh $(SYSDEPS)
	touch $@

# ---------------------------------------------------------------- checks
.PHONY: lint unit integration e2e test
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --config .importlinter

unit: setup
	$(PYTEST) tests/unit

integration: setup sysdeps
	$(PYTEST) tests/integration

e2e: setup sysdeps
	$(PYTEST) tests/e2e

# One pytest run over every tier, so the closing summary counts them all.
test: setup sysdeps lint
	$(PYTEST) tests

# ---------------------------------------------------------------- performance
.PHONY: bench loadtest
bench: setup sysdeps
	$(PY) loadtests/run_bench.py

loadtest: setup sysdeps
	$(PY) -m pip install -q -e '.[load]'
	@echo "Locust scenarios arrive with the observability issue (loadtests/locust/)."

# ---------------------------------------------------------------- run
.PHONY: run
run: setup
	@echo "make run will bring up the local cluster, helm install knpy and serve a sample."
	@echo "It is wired by the local-cluster and Helm issues; nothing is started yet."

.PHONY: clean
clean:
	rm -rf build $(VENV) components/**/*.so
