# Template checks (included by the Makefile, run by `make test`):
#   sam validate --lint, cfn-lint, asl-validator on the state machine definition, checkov with
#   .checkov.yaml, sam build, then two checks of what sam build made: every native library is
#   arm64 (check_layer_architecture.py) and the layer's packages hang together, the AWS
#   SDK whole or absent (check_layer_sdk.py). Each tool comes pinned, in its own environment:
#   .venv-sam (requirements-sam.txt), .venv-checks (requirements-checks.txt: checkov pins boto3
#   far below what the SAM CLI needs, and both far from uv.lock's) and node_modules
#   (package-lock.json). uv installs the two venvs from their files; their stamp files make a
#   re-run skip the installs until a pin changes.

SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
CHECKS_VENV := .venv-checks
CHECKS_STAMP := $(CHECKS_VENV)/.installed
TEMPLATE_CHECKS := tools/template_checks
NPM_STAMP := $(TEMPLATE_CHECKS)/node_modules/.installed
ASL_FILE := statemachine/export.asl.json
# The definition with its ${...} substitutions replaced by values of the right shape, as
# CloudFormation would do it, for asl-validator to read.
ASL_RENDERED := .aws-sam/checks/export.asl.json
BUILD_DIR := .aws-sam/build
# The layer's packages as sam build leaves them (the LayerVersion's logical ID, then python/).
LAYER_SITE := $(BUILD_DIR)/ExporterLayer/python

# No credentials, no telemetry, no guidelines download: the checks run offline, anywhere.
TEMPLATE_CHECK_ENV := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
	AWS_ACCESS_KEY_ID=checks AWS_SECRET_ACCESS_KEY=checks SAM_CLI_TELEMETRY=0 \
	BC_SKIP_MAPPING=TRUE CKV_PARSE_ERROR_FAIL=TRUE

.PHONY: check-template template-tools

$(SAM_STAMP): $(TEMPLATE_CHECKS)/requirements-sam.txt $(UV_STAMP)
	rm -rf $(SAM_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python -r $(TEMPLATE_CHECKS)/requirements-sam.txt
	touch $@

$(CHECKS_STAMP): $(TEMPLATE_CHECKS)/requirements-checks.txt $(UV_STAMP)
	rm -rf $(CHECKS_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(CHECKS_VENV)
	$(UV) pip install --quiet --python $(CHECKS_VENV)/bin/python -r $(TEMPLATE_CHECKS)/requirements-checks.txt
	touch $@

$(NPM_STAMP): $(TEMPLATE_CHECKS)/package.json $(TEMPLATE_CHECKS)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 18 or newer"; exit 2; }
	npm ci --prefix $(TEMPLATE_CHECKS) --no-audit --no-fund --loglevel=error
	touch $@

template-tools: $(SAM_STAMP) $(CHECKS_STAMP) $(NPM_STAMP)  ## install the pinned template-check tools

# sam build looks for python3.12 on PATH: the one found first for Lambda's runtime.
check-template: need-lambda-python template-tools  ## lint, validate, scan and build the SAM template
	$(TEMPLATE_CHECK_ENV) $(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template-file template.yaml
	$(CHECKS_VENV)/bin/cfn-lint template.yaml
	@mkdir -p $(dir $(ASL_RENDERED))
	sed -e 's/\$${MapMaxConcurrency}/40/g' \
	    -e 's/\$${ResultsBucketName}/playment-exporter-results/g' \
	    -e 's|\$${ResultsIndexLocation}|s3://playment-exporter-results/playment/index.v1/|g' \
	    -e 's/\$${\([A-Za-z]*\)FunctionArn}/arn:aws:lambda:us-east-1:123456789012:function:\1/g' \
	    $(ASL_FILE) > $(ASL_RENDERED)
	@if grep -n '\$${' $(ASL_RENDERED); then echo "error: a substitution in $(ASL_FILE) is not rendered by $(TEMPLATE_CHECKS)/template.mk"; exit 1; fi
	$(TEMPLATE_CHECKS)/node_modules/.bin/asl-validator --json-path $(ASL_RENDERED)
	$(TEMPLATE_CHECK_ENV) $(CHECKS_VENV)/bin/checkov -f template.yaml --framework cloudformation \
	    --config-file .checkov.yaml --quiet --skip-download
	PATH="$(dir $(LAMBDA_PYTHON)):$$PATH" $(TEMPLATE_CHECK_ENV) $(SAM_VENV)/bin/sam build --template-file template.yaml --build-dir $(BUILD_DIR)
	$(SAM_VENV)/bin/python $(TEMPLATE_CHECKS)/check_layer_architecture.py $(BUILD_DIR)
	$(SAM_VENV)/bin/python $(TEMPLATE_CHECKS)/check_layer_sdk.py $(LAYER_SITE)
