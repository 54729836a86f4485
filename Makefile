# TechCommerce: the two commands a user needs are `make run` and `make test`.
.PHONY: run test lint format setup bench clean e2e

VENV := .venv
PY := $(VENV)/bin/python

setup:
	hack/setup.sh

run:
	hack/setup.sh --run-only
	$(PY) hack/dev/run.py

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup lint
	$(PY) -m pytest

# A real single-node Kubernetes cluster on this machine, the platform deployed on it, the live
# suite (tests/cluster_e2e), teardown. Root only; E2E_KEEP=1 keeps the cluster (README: make e2e).
e2e:
	hack/e2e/run.sh

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks print numbers (never timed tests): hack/bench/README.md
bench:
	hack/setup.sh --run-only
	$(PY) -m hack.bench.product_api
	$(PY) -m hack.bench.order_api
	$(PY) -m hack.bench.frontend
	$(PY) -m hack.bench.replicas

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
