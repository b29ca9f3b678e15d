# The few commands a newcomer needs. Everything installs into .venv from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= models/triage.json
ARTICLE ?= data/raw/004_26175a559591074b.txt

.PHONY: setup run test lint format train clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

## run: set up, train when the model is missing or stale, then triage a seed article and show its tags
run: setup
	$(BIN)/triage train --if-stale --model $(MODEL)
	$(BIN)/triage predict $(ARTICLE) --model $(MODEL) --format table

## test: set up and run the whole test suite (what CI runs)
test: setup
	$(BIN)/python -m pytest

train: setup
	$(BIN)/triage train --model $(MODEL)

lint: setup
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: setup
	$(BIN)/ruff check --fix src tests scripts benchmarks
	$(BIN)/ruff format src tests scripts benchmarks

clean:
	rm -rf $(VENV) models/triage.json models/triage.*.skops
