# One place for every command a person or CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
# pyenv picks the interpreter by this variable whatever the working directory (sam build too).
export PYENV_VERSION := $(PYTHON_VERSION)
PYTHON ?= python$(basename $(PYTHON_VERSION))
VENV := .venv
TOOL_PACKAGES := $(addprefix tools/,playment_cli playment_local playment_simulator playment_operator playment_execution playment_bench playment_mutation)
BIN := $(VENV)/bin

include tools/template_checks/template.mk

.PHONY: help setup demo test lint typecheck pytest bench scale clean lock mutation docs

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/activate: pyproject.toml requirements-dev.txt constraints.txt layers/exporter/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python $(PYTHON_VERSION)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt -e .
	touch $(BIN)/activate

setup: $(BIN)/activate  ## create .venv and install everything

demo: setup  ## run an export end to end on the simulator and the local engine
	$(BIN)/playment-export demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy layers/exporter functions $(TOOL_PACKAGES) tests

pytest: setup $(SAM_VENV)/bin/activate  # the e2e tests enforce the roles SAM translates
	$(BIN)/pytest

test: lint typecheck check-template pytest  ## every check CI runs

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

mutation: setup $(SAM_VENV)/bin/activate  ## mutation-test the domain and the handlers, print the score
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

lock:  ## refresh constraints.txt from a clean resolve of requirements-dev.txt
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements-dev.txt
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^playment-exporter' > constraints.txt
	rm -rf .venv-lock

clean:  ## remove what make created
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache tools/template_checks/node_modules
