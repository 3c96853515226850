# Entry points. `make up` and `make test` do all the set-up a fresh Debian machine needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=
# A developer's machine: the gateway may sign tokens with the development secret unless
# CONSORTIUM_JWT_SECRET is set (API.md). Deployments never set this.
export CONSORTIUM_DEV_MODE ?= 1

.PHONY: up down status reset test lint unit bench lock bootstrap mutation

bootstrap:
	@bash deploy/bootstrap.sh

up: bootstrap  ## the whole platform on localhost, with demo data
	@$(PY) -m deploy.runner up

down:  ## stop every process `make up` started
	@if [ -x $(PY) ] && $(PY) -c "import deploy.runner" 2>/dev/null; then \
	    $(PY) -m deploy.runner down; \
	else echo "nothing to stop: the platform was never installed here"; fi

status:
	@$(PY) -m deploy.runner status

reset: bootstrap  ## stop everything and drop the local databases (the next `make up` starts afresh)
	@$(PY) -m deploy.runner reset

test: bootstrap lint  ## lint, types, and the whole test suite against real PostgreSQL and RabbitMQ
	@$(PY) -m pytest $(PYTEST_ARGS)

lint:
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy eventstore services gateway

unit:  ## the fast tests only (no servers)
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

mutation: bootstrap  ## every pure domain module mutated against its unit tests (minutes)
	@$(PY) -m tests.mutation.run $(MUTATION_ARGS)

bench: bootstrap
	@$(PY) bench/eventstore.py

lock:  ## re-pin every dependency after changing pyproject.toml
	rm -rf .lock-venv && python3.11 -m venv .lock-venv
	# setuptools that builds editable installs by itself (the venv's own needs `wheel`)
	.lock-venv/bin/pip install -q "setuptools==80.9.0"
	.lock-venv/bin/pip install -q . ".[dev]"
	(echo "# Exact versions of every package, direct and transitive. Regenerate with: make lock"; \
	 .lock-venv/bin/pip freeze --all --exclude-editable | grep -vE "^(-e|pip==|consortium)") > requirements.lock
	rm -rf .lock-venv
