# gridbot developer commands. Everything bootstraps .venv on first use, so the two Quick-start
# commands (`make demo`, `make test`) work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMMUNITY ?= deploy/examples/community.yaml
SCRIPT ?=
export GRIDBOT_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install bytecode demo desk run doctor test test-e2e lint typecheck fmt bench bench-nlp bench-taidi bench-broadcast bench-bot bench-emergency bench-load bench-stats bench-desk bench-imports eval-holdout clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) bytecode

# The project's own modules compiled now (pip compiles the dependencies, but not an editable install): where
# PYTHONDONTWRITEBYTECODE is set, as on these machines, every `gridbot` process would otherwise compile them
# from source again, about a sixth of `echo x | gridbot classify`. A module edited later is simply compiled
# in memory again until the next `make bytecode`.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q bot handlers nlp storage web

# Migrate, load the example community, then chat in the local console (no token, no network).
# `make demo SCRIPT=deploy/examples/demo.txt` replays a scripted conversation instead.
# A scripted demo runs on a database of its own, fresh each time, so the transcript is always the same.
DEMO_ENV := $(if $(SCRIPT),GRIDBOT_DATABASE_URL=sqlite+aiosqlite:///demo-script.db)

demo: $(STAMP)
	$(if $(SCRIPT),rm -f demo-script.db demo-script.db-wal demo-script.db-shm)
	$(DEMO_ENV) $(BIN)/gridbot db upgrade
	$(DEMO_ENV) $(BIN)/gridbot org import $(COMMUNITY)
	$(DEMO_ENV) $(BIN)/gridbot demo $(if $(SCRIPT),--script $(SCRIPT))

# The staff desk (工作台) on the example community with two weeks of orders (desk-demo.db, fresh each
# time); prints a login link for the example staff member (陈主任), then serves http://127.0.0.1:8088.
desk: $(STAMP)
	$(BIN)/python -m web.demo desk-demo.db
	GRIDBOT_DATABASE_URL=sqlite+aiosqlite:///desk-demo.db $(BIN)/gridbot web

# Telegram for real: GRIDBOT_TRANSPORT=ptb|aiogram and GRIDBOT_BOT_TOKEN in the environment or .env
run: $(STAMP)
	$(BIN)/gridbot db upgrade
	$(BIN)/gridbot run $(if $(WEBHOOK),--webhook)

doctor: $(STAMP)
	$(BIN)/gridbot doctor

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bench-nlp bench-taidi bench-broadcast bench-bot bench-load

# classify vs bare jieba tokenising on the same 20,000 messages
bench-nlp: $(STAMP) bytecode
	$(BIN)/python benchmarks/bench_nlp.py

# 10,000 recipients against the emulator at 30 msg/s, then at 1,000 msg/s (the sender's own ceiling); ~6 min
bench-broadcast: $(STAMP)
	$(BIN)/python benchmarks/bench_broadcast.py --recipients $(or $(RECIPIENTS),10000)

# gridbot (ptb, aiogram) vs the echo bot of its framework, same emulator, same run; ~75 s
bench-bot: $(STAMP)
	$(BIN)/python benchmarks/bench_bot.py

# Issue 17: 119 advice and staff alerts with 60 messages queued, a 10,000-recipient campaign, both (~5 min).
bench-emergency: $(STAMP)
	$(BIN)/python benchmarks/bench_emergency.py $(if $(TRIALS),--trials $(TRIALS))

# residents at 5..160/s into 1 replica on SQLite, 1 and 2 on PostgreSQL (webhook, proxy, Redis); then
# 1,000,000 historical orders: the order queries before/after migration 0006's indexes; ~5 min (QUICK=1: ~2 min)
bench-load: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py $(if $(QUICK),--quick)

# the desk's order list, search and order page on 1,000,000 orders (PostgreSQL; p95 <= 100 ms, page <= 50 ms);
# ~10 min to build the data (DATABASE=<url> keeps and reuses it)
bench-desk: $(STAMP)
	$(BIN)/python benchmarks/bench_desk.py $(if $(ORDERS),--orders $(ORDERS)) $(if $(DATABASE),--database $(DATABASE))

# 100,000 ledger rows (GBK CSV) read, validated and imported into SQLite; target ≤ 10 s
bench-imports: $(STAMP)
	$(BIN)/python benchmarks/bench_imports.py

# the monthly report on 1,000,000 orders (target <= 5 s), the roll-up's backfill, dashboard reads; PostgreSQL
bench-stats: $(STAMP)
	$(BIN)/python benchmarks/bench_stats.py $(if $(ORDERS),--orders $(ORDERS))

# Blind check: 260 messages written by someone who never saw the rules (not a gate: never tune on it)
eval-holdout: $(STAMP)
	$(BIN)/gridbot rules eval tests/data/holdout_messages.csv --max-misclassified 100

# External check: rules mined from ../shared/data/taidi2020 vs a TF-IDF + linear baseline (scikit-learn)
bench-taidi: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/taidi_external.py

clean:
	rm -rf $(VENV) gridbot.db demo-script.db desk-demo.db .pytest_cache .mypy_cache .ruff_cache
