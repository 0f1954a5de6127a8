# Two commands for a fresh machine: `make run` (set up the demo shop and serve it) and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install setup serve lint browser-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

setup: install
	$(BIN)/shopassist setup

# demo mode: the demo page signs in as any demo customer without the shop's signature (never in public)
serve: install
	$(BIN)/shopassist serve --demo

run: setup serve

# headless-browser tests: Debian chromium + npm playwright-core (never a browser download)
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@test -d tests/browser/node_modules || (cd tests/browser && npm install --silent --no-audit --no-fund)

test: install browser-deps
	$(BIN)/ruff check assistant retrieval recommender tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check assistant retrieval recommender tests bench

clean:
	rm -rf .state
