# Entitle. `make run` starts the whole system on this machine; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency, pinned with hashes (`make lock` rewrites them from pyproject.toml).
LOCK := requirements/dev.txt
COMPILE := $(BIN)/uv pip compile pyproject.toml requirements/build.in --universal \
	--generate-hashes --python-version 3.11 --quiet

.PHONY: run test bench faults lint format typecheck schemas demo clean lock

$(STAMP): pyproject.toml shared/pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Entitle needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

lock: $(STAMP)  ## Rewrite the locked dependencies after a change in pyproject.toml
	$(COMPILE) -o requirements/runtime.txt
	$(COMPILE) --extra embedded --extra dev -o $(LOCK)
	$(COMPILE) --extra embedded --extra dev --extra bench -o requirements/bench.txt

run: $(STAMP)  ## Start PostgreSQL, the broker, SMTP capture and the five services
	$(BIN)/entitle dev

demo: $(STAMP)  ## Send sample orders to the stack `make run` started
	$(BIN)/entitle demo

test: $(STAMP)  ## Lint, type-check and run every test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 $(PYTEST_ARGS)

bench: $(STAMP)  ## Throughput and latency against limits measured in the same run
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/bench.txt
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

faults: $(STAMP)  ## Kill services, restart PostgreSQL, inject bad events while orders flow
	ENTITLE_FAULTS_ORDERS=$${ENTITLE_FAULTS_ORDERS:-1000} $(BIN)/pytest -s -p no:cacheprovider tests/e2e/test_faults.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

schemas: $(STAMP)  ## Rewrite the event JSON Schemas, docs/topics.md and docs/asyncapi/
	$(BIN)/python -m entitle_events.schemas
	$(BIN)/python -m entitle_events.topics_doc > docs/topics.md
	$(BIN)/entitle docs

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
