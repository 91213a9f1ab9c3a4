# Chirp — two commands do all set-up on a fresh machine:
#   make run    the local stack (REST on :3000, WebSocket on :3001), embedded backend
#   make test   lint, types and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Lambda runs Python 3.12: use it when the machine has it (else python3, with a warning at install).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do "$$p" -c '' 2>/dev/null && { echo "$$p"; exit; }; done; echo python3)
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV := $(PYTHON) -m uv
PORT ?= 3000
WS_PORT ?= 3001
MASTODON_PORT ?=
BACKEND ?= embedded

.PHONY: help install browser-deps servers-deps synth bench soak fuzz audit run test lint typecheck seed metrics invoke capacity format clean \
	deploy-local destroy-local cold-start $(SUITES)

help:
	@echo "make run      - run the local stack (PORT=$(PORT) WS_PORT=$(WS_PORT) [MASTODON_PORT, default PORT+2] BACKEND=$(BACKEND); BACKEND=servers STREAM=kafka: on Kafka)"
	@echo "make test     - lint, typecheck and run every test"
	@echo "make seed     - fill a running stack with demo data"
	@echo "make metrics  - the running stack's metrics (also at http://127.0.0.1:$(PORT)/operator.html)"
	@echo "make invoke FN=tweets EVENT=events/tweets/create_tweet.json - run one handler on a sample event"
	@echo "make deploy-local / destroy-local - deploy the CDK app to a local emulator (ministack) and tear it down"
	@echo "make unit|service|handlers|contract|servers|cluster|e2e|faults|browser|infrastructure|deploy - one suite"

$(VENV)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	touch $@

install: $(VENV)/.installed
	@$(PY) -c 'import sys; sys.version_info[:2] == (3, 12) or print("warning: Lambda runs Python 3.12; this venv runs %d.%d (no python3.12 on this machine)" % sys.version_info[:2])'

# Debian packages the browser tests need (the stand-in servers install themselves: shared/chirp/local/servers/harness.py).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

run: install
	$(PY) -m chirp.cli run --port $(PORT) --ws-port $(WS_PORT) $(if $(MASTODON_PORT),--mastodon-port $(MASTODON_PORT)) --backend $(BACKEND) $(if $(filter servers,$(BACKEND)),--start-servers) $(if $(STREAM),--stream $(STREAM))

seed: install
	$(PY) -m chirp.cli seed --url http://127.0.0.1:$(PORT)

metrics: install  ## the running stack's metrics in the terminal, refreshed (the operator page: /operator.html)
	$(PY) -m chirp.cli metrics --url http://127.0.0.1:$(PORT) --watch 2

invoke: install
	$(PY) -m chirp.cli invoke $(FN) --event $(EVENT)

bench: install servers-deps  ## benchmarks on both backends (QUICK=1: small data, < 3 min embedded)
	$(PY) bench/run.py --backend both $(if $(QUICK),--quick)
	$(PY) bench/stream_latency.py $(if $(QUICK),--quick,--posts 60)  # post -> WebSocket through Kinesis and through Kafka

soak: install servers-deps  ## 10 minutes of steady mixed load on the servers backend
	$(PY) bench/soak.py --minutes $(or $(MINUTES),10)

fuzz: install servers-deps  ## the long Schemathesis pass: >= 5,000 requests per backend
	CHIRP_FUZZ_EXAMPLES=200 CHIRP_FUZZ_BACKENDS=embedded,servers $(VENV)/bin/pytest -q -p no:cacheprovider tests/fuzz

audit: install  ## known vulnerabilities in the locked dependencies (needs the PyPI JSON API, unreachable in this CI)
	$(UV) export --frozen --all-extras --no-hashes --no-emit-project > .venv/audit-requirements.txt
	$(VENV)/bin/pip-audit -r .venv/audit-requirements.txt --disable-pip --no-deps --progress-spinner off

capacity: install
	$(PY) -m chirp.cli capacity --scenario bench/capacity/scenarios/seed.yaml --out bench/capacity/reports

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The stand-in servers for the production adapters (apt, Maven Central, npm); cached under ~/.cache/chirp-servers.
servers-deps: install
	$(PY) -m chirp.local.servers.harness install --all

test: lint typecheck browser-deps servers-deps
	$(VENV)/bin/pytest -q -p no:cacheprovider

# One part of the suite at a time (make test runs them all): make unit, make contract, make deploy, ...
SUITES := unit service handlers contract servers cluster e2e faults browser infrastructure deploy
$(SUITES): install
	$(if $(filter browser,$@),$(MAKE) browser-deps,)
	$(if $(filter contract servers cluster e2e faults deploy,$@),$(MAKE) servers-deps,)
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/$@

# The CDK app deployed to the ministack emulator, functions on the stand-ins (with their credentials); prints the
# REST and WebSocket URLs and serves the web client against them (WEB_PORT). Ctrl-C or make destroy-local ends it.
deploy-local: install servers-deps
	$(PY) tests/deploy/local_deploy.py up --web-port $(or $(WEB_PORT),8080)

destroy-local: install
	$(PY) tests/deploy/local_deploy.py down

cold-start: install  ## each function's init time in a fresh Python process (what a Lambda cold start pays)
	$(PY) bench/cold_start.py --out bench/results/$(shell date +%F)-cold-start.json

clean:
	rm -rf $(VENV) .chirp .pytest_cache .mypy_cache .ruff_cache

generated: install  ## regenerate the committed OpenAPI document and sample events
	$(PY) -m chirp.openapi
	$(PY) -m chirp.local.samples

CDK_CLI := aws-cdk@2.1148.1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1

synth: install  ## synthesize the CDK app offline (pinned CLI; cdk-nag AwsSolutions checks run at synth)
	npx --yes $(CDK_CLI) synth --quiet $(CDK_ARGS)
