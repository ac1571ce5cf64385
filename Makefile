VENV := .venv
ATCTL := $(VENV)/bin/atctl
# Extra atctl options, e.g. make up ATCTL_ARGS="--port-offset 1000"
ATCTL_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help bootstrap up down status lint test bench

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install the daemons and .venv (idempotent; scripts/bootstrap.sh)
	scripts/bootstrap.sh

up: bootstrap ## Start the whole local stack with demo traffic (atctl up --demo)
	$(ATCTL) up --demo $(ATCTL_ARGS)

down: ## Stop the local stack (data kept; atctl down --purge deletes it)
	@test -x $(ATCTL) || { echo "no $(VENV): nothing to stop (make bootstrap sets it up)"; exit 0; }
	$(ATCTL) down $(ATCTL_ARGS)

status: ## Show every component: state, health, URL
	@test -x $(ATCTL) || { echo "no $(VENV): run make up"; exit 2; }
	$(ATCTL) status $(ATCTL_ARGS)

lint: bootstrap ## Static checks: ruff, and atctl lint on observability/ (CI runs this before the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(ATCTL) lint

test: bootstrap ## Run the test suite (unit and integration)
	$(VENV)/bin/pytest -q

bench: ## Run the benchmarks side by side and plot them (about 7 minutes; see docs/benchmarks.md)
	AT_BOOTSTRAP_EXTRA_PACKAGES="wrk nginx-light" scripts/bootstrap.sh
	$(VENV)/bin/pip install -q -e '.[bench]'
	cd benchmarks && ../$(VENV)/bin/python gateway.py && ../$(VENV)/bin/python decisions.py && ../$(VENV)/bin/python plot.py
