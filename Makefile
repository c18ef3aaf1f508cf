# gridbot developer commands. Everything bootstraps .venv on first use, so the two Quick-start
# commands (`make demo`, `make test`) work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMMUNITY ?= deploy/examples/community.yaml
SCRIPT ?=
export GRIDBOT_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install demo test lint typecheck fmt bench bench-nlp bench-taidi eval-holdout clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Migrate, load the example community, then chat in the local console (no token, no network).
# `make demo SCRIPT=deploy/examples/demo.txt` replays a scripted conversation instead.
demo: $(STAMP)
	$(BIN)/gridbot db upgrade
	$(BIN)/gridbot org import $(COMMUNITY)
	$(BIN)/gridbot demo $(if $(SCRIPT),--script $(SCRIPT))

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bench-nlp bench-taidi

# classify vs bare jieba tokenising on the same 20,000 messages
bench-nlp: $(STAMP)
	$(BIN)/python benchmarks/bench_nlp.py

# Blind check: 260 messages written by someone who never saw the rules (not a gate: never tune on it)
eval-holdout: $(STAMP)
	$(BIN)/gridbot rules eval tests/data/holdout_messages.csv --max-misclassified 100

# External check: rules mined from ../shared/data/taidi2020 vs a TF-IDF + linear baseline (scikit-learn)
bench-taidi: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/taidi_external.py

clean:
	rm -rf $(VENV) gridbot.db .pytest_cache .mypy_cache .ruff_cache
