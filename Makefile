# The two commands of the README's quick start: `make build` and `make test`.
# Both create the environment in .venv/ first when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DBT := $(BIN)/dbt
DBT_FLAGS := --project-dir . --profiles-dir . --target local

.PHONY: setup build test lint contract compile-bigquery bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

build: $(STAMP)
	$(DBT) build $(DBT_FLAGS)

test: $(STAMP)
	$(BIN)/pytest

# The macros' contract with the engine (macros/contract/_ml_contract.sql), generated from ml/.
contract: $(STAMP)
	$(BIN)/python -m ml dbt-contract

# The production SQL, rendered without Google (docs/bigquery-offline.md): a throwaway key, no query.
compile-bigquery: $(STAMP)
	$(BIN)/python -m ml offline-key build/offline-key.json
	DBT_TARGET=bigquery BIGQUERY_PROJECT=$${BIGQUERY_PROJECT:-dummy-project} BIGQUERY_METHOD=service-account \
		BIGQUERY_KEYFILE=build/offline-key.json $(DBT) compile --project-dir . --profiles-dir . --no-populate-cache

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint models macros

clean:
	rm -rf build target logs
