# One place for every command a person or CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Interpreters. The handlers run on Lambda's python3.12 (.python-version), so the main .venv, the
# e2e tier and sam build use 3.12; the tools and the tests run on 3.11 to 3.13. The main .venv
# takes the first found of 3.12 (one .venv then serves the demo and every check), 3.13 (the
# newest), 3.11: `make demo` works on any of them; `make test` needs the 3.12 and also runs the
# unit and integration tiers on 3.11 and 3.13, each in its own venv.
FIND_PYTHON := tools/find_python.sh
LAMBDA_MINOR := $(basename $(shell cat .python-version))
MAIN_PYTHON := $(shell $(FIND_PYTHON) $(LAMBDA_MINOR) 3.13 3.11)
PYTHON_MINOR := $(word 1,$(MAIN_PYTHON))
PYTHON := $(word 2,$(MAIN_PYTHON))
LAMBDA_PYTHON = $(word 2,$(shell $(FIND_PYTHON) $(LAMBDA_MINOR)))
NO_PYTHON := error: no Python 3.11, 3.12 or 3.13 found; install one (Debian/Ubuntu: apt-get \
	install python3 python3-venv; macOS: brew install python@3.12), then run make again
NO_LAMBDA_PYTHON := error: make test needs Python $(LAMBDA_MINOR), Lambda's runtime (pyenv \
	install $(LAMBDA_MINOR), or python$(LAMBDA_MINOR) on PATH: apt-get install python$(LAMBDA_MINOR)-venv)

# uv installs every environment from pinned files (the main one from uv.lock) and its cache makes
# a re-install take seconds. It comes pinned from PyPI into a venv of its own, made by the
# interpreter found above; it never downloads a Python.
UV_VERSION := 0.13.10
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_STAMP := $(UV_VENV)/.uv-$(UV_VERSION)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system

VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.synced-$(PYTHON_MINOR)
LOCKED := pyproject.toml uv.lock
TOOL_PACKAGES := $(addprefix tools/,playment_cli playment_local playment_simulator playment_operator playment_execution playment_bench playment_mutation)

include tools/template_checks/template.mk

.PHONY: help setup demo test lint typecheck pytest test-unit test-integration test-e2e \
	test-py3.11 test-py3.13 check-fresh-demo need-lambda-python bench scale clean lock mutation docs

help:  ## list the targets
	@grep -hE '^[a-z0-9.-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(UV_STAMP):
	@test -n "$(PYTHON)" || { echo "$(NO_PYTHON)"; exit 2; }
	rm -rf $(UV_VENV)
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

$(VENV_STAMP): $(UV_STAMP) $(LOCKED)
	@test -n "$(PYTHON)" || { echo "$(NO_PYTHON)"; exit 2; }
	rm -f $(VENV)/.synced-*
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet --python $(PYTHON)
	touch $@

setup: $(VENV_STAMP)  ## create .venv (Python 3.12, else 3.13, else 3.11) with everything in uv.lock

demo: setup  ## run an export end to end on the simulator and the local engine
	$(BIN)/playment-export demo

lint: setup  ## ruff, ruff format, import-linter; and uv.lock in step with pyproject.toml
	$(UV) lock --check --quiet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup  ## mypy --strict on the layer, the handlers, the tools and the tests
	$(BIN)/mypy layers/exporter functions $(TOOL_PACKAGES) tests

need-lambda-python:  ## stop, naming what to install, unless Python 3.12 is found
	@test -n "$(LAMBDA_PYTHON)" || { echo "$(NO_LAMBDA_PYTHON)"; exit 2; }

# Every tier uses .venv-sam (the template's translation, a fixture); the e2e tier needs 3.12.
pytest: need-lambda-python setup $(SAM_STAMP)  ## every test tier on Python 3.12
	$(BIN)/pytest

test-unit: setup $(SAM_STAMP)  ## the unit tier
	$(BIN)/pytest tests/unit

test-integration: setup $(SAM_STAMP)  ## the integration tier (moto, the simulator)
	$(BIN)/pytest tests/integration

test-e2e: need-lambda-python setup $(SAM_STAMP)  ## the e2e tier (the state machine on moto)
	$(BIN)/pytest tests/e2e

# .venv-py3.11 and .venv-py3.13: the same uv.lock on another interpreter.
.venv-py%/.synced: $(UV_STAMP) $(LOCKED)
	@python=$$($(FIND_PYTHON) $*) || { echo "error: make test needs Python $* too (pyenv install $*, or python$* on PATH)"; exit 2; }; \
	UV_PROJECT_ENVIRONMENT=.venv-py$* $(UV) sync --frozen --quiet --python $${python#* }
	touch $@

test-py3.11: .venv-py3.11/.synced $(SAM_STAMP)  ## the unit and integration tiers on Python 3.11
	.venv-py3.11/bin/pytest tests/unit tests/integration -q -p no:cacheprovider

test-py3.13: .venv-py3.13/.synced $(SAM_STAMP)  ## the unit and integration tiers on Python 3.13
	.venv-py3.13/bin/pytest tests/unit tests/integration -q -p no:cacheprovider

# A fresh clone of HEAD, a fresh HOME and only the system's folders on PATH (here Debian's
# python3.11, git, make): what a newcomer without pyenv has. uv's cache starts empty too. Of the
# environment only the network's settings pass: a TLS-inspecting proxy's certificates.
NETWORK_SETTINGS := SSL_CERT_FILE SSL_CERT_DIR HTTPS_PROXY https_proxy NO_PROXY no_proxy
check-fresh-demo:  ## clone HEAD afresh and run make demo with PATH=/usr/bin:/bin only
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	git clone --quiet . "$$scratch/clone" && \
	env -i HOME="$$scratch/home" PATH=/usr/bin:/bin LANG=C.UTF-8 \
	    $(foreach name,$(NETWORK_SETTINGS),$(if $($(name)),$(name)="$($(name))")) make -C "$$scratch/clone" demo && \
	echo "check-fresh-demo: make demo passed on $$("$$scratch/clone/.venv/bin/python" --version)"

# Lint and types first (seconds, and the likeliest to fail); then the rest three at a time, the
# longest first: the test runs wait on servers and moto more than they compute. Measured in a
# fresh clone on 2 busy cores: 14.5 min with all tiers on 3.12 as one job, 11.3 min with them as
# three (the e2e tier, 10 min, is then the longest part). Each part's output is printed whole
# when it ends; the tiers on 3.12 run as three jobs here, as one in `make pytest`.
TEST_JOBS ?= 3
test:  ## every check CI runs: lint, types, the template checks, all tiers on 3.12, two on 3.11 and 3.13, the fresh-clone demo
	$(MAKE) --no-print-directory need-lambda-python lint typecheck
	$(MAKE) --no-print-directory --jobs=$(TEST_JOBS) --output-sync=target test-e2e test-py3.11 \
	    test-py3.13 test-integration test-unit check-template check-fresh-demo

bench: setup  ## measure throughput, memory, requests, cost and cold start (prints figures)
	$(BIN)/python -m playment_bench --json .bench-figures.json

scale: setup  ## run the export at 100k and 1M jobs and 20k batches; fail past a bound (~25 min)
	$(BIN)/python -m playment_bench.scale --json .scale-figures.json

# mutmut names a mutant after its file's path, so it runs where the layer's packages sit at the
# top: build/mutation/, links to the sources (it copies them into its own mutants/ there). The
# verdicts are kept in tools/playment_mutation/results/ (committed): a run starts from them and
# checks again only the mutants of functions whose source changed (mutmut's own hashes) or whose
# covering tests changed (results_store's), then records its verdicts there. Configured in
# pyproject.toml, [tool.mutmut]. MUTANTS=<glob> narrows a run (e.g. "playment_exporter.ids.*").
MUTATION_DIR := build/mutation
MUTATION_RESULTS := tools/playment_mutation/results
MUTATION_LINKS := pyproject.toml template.yaml README.md docs samconfig.toml tests events functions \
	statemachine layers/exporter/playment_exporter layers/exporter/exporter_runtime

mutation: setup $(SAM_STAMP)  ## mutation-test the domain and the handlers, print the score
	mkdir -p $(MUTATION_DIR)/mutants
	cd $(MUTATION_DIR) && for path in $(MUTATION_LINKS); do ln -sfn ../../$$path .; done
	cd $(MUTATION_DIR)/mutants && ln -sfn ../../../tools tools && ln -sfn ../../../$(SAM_VENV) $(SAM_VENV)
	$(BIN)/python -m playment_mutation.results_store restore $(MUTATION_RESULTS) $(MUTATION_DIR)/mutants tests
	cd $(MUTATION_DIR) && ../../$(BIN)/mutmut run --max-children $$(nproc) $(MUTANTS)
	$(BIN)/python -m playment_mutation.results_store record $(MUTATION_RESULTS) $(MUTATION_DIR)/mutants tests
	cd $(MUTATION_DIR) && ../../$(BIN)/mutmut results
	cd $(MUTATION_DIR) && ../../$(BIN)/mutmut export-cicd-stats >/dev/null
	cd $(MUTATION_DIR) && ../../$(BIN)/python -m playment_bench.doc_figures.mutation mutants/mutmut-cicd-stats.json

docs: setup  ## build the documentation site (MkDocs Material, strict) into build/site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lock: $(UV_STAMP)  ## refresh uv.lock: every package at its newest that pyproject.toml allows
	$(UV) lock --upgrade --python $(PYTHON)

clean:  ## remove what make created
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache tools/template_checks/node_modules
