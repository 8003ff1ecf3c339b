# Two commands do all the set-up:  `make run` (the bot) and `make test` (the whole check).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Marker files make set-up idempotent: nothing is reinstalled while pyproject.toml is unchanged.
STAMP := $(VENV)/.installed
TORCH_STAMP := $(VENV)/.torch
DATA_DIR ?= data
INDEX_STAMP := $(DATA_DIR)/.index-built
KNOWLEDGE := $(shell find knowledge -type f 2>/dev/null)

.PHONY: run test test-fast lint typecheck pytest ingest check bench bench-replicas bench-nudges clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The CPU build of torch goes in first so that nothing later pulls a multi-GB CUDA build.
$(TORCH_STAMP): | $(VENV)/bin/python
	$(PIP) install --quiet "torch==2.13.0"
	touch $@

$(STAMP): pyproject.toml $(TORCH_STAMP)
	$(PIP) install --quiet -e ".[dev,openai]"
	touch $@

$(INDEX_STAMP): $(STAMP) $(KNOWLEDGE)
	HF_HUB_OFFLINE=1 $(PY) -m ingest
	@mkdir -p $(DATA_DIR) && touch $@

ingest: $(INDEX_STAMP)

check: $(STAMP)
	$(PY) -m ingest --check

run: $(INDEX_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bot

lint: $(STAMP)
	$(VENV)/bin/ruff check bot ingest tests bench
	$(VENV)/bin/ruff format --check bot ingest tests bench
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# pytest exits 5 when it collected no tests: that is not a failure of the code under test.
# One worker per core (pytest-xdist); an idle worker takes tests queued for a busy one (worksteal).
# PYTEST_ARGS="-n 0" runs it in one process.
pytest: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n auto --dist worksteal $(PYTEST_ARGS); status=$$?; [ $$status -eq 5 ] && status=0; exit $$status

# The checks and the suite run side by side: mypy takes one core for under a minute while the suite's
# workers mostly wait on servers and child processes. Each target's output is printed whole, when it ends.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck pytest

# What to run while working: the tests that need no model, server, subprocess or whole knowledge base.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not slow" -q $(PYTEST_ARGS)

# Ingest, answer latency, end to end, start-up and scale 1x/10x (about 15 minutes on 2 cores);
# e.g. `make bench BENCH_ARGS="--only latency --repeats 10"` or `BENCH_ARGS="--scale 1,10,100"`.
bench: $(INDEX_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench $(BENCH_ARGS)

# One bot process against two in webhook mode on the local PostgreSQL and a Chroma server, then two
# replicas delivering 2,000 nudges due at once (about ten minutes).
bench-replicas: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.replicas $(BENCH_ARGS)

# 10,000 users due in one minute against the local Bot API server (about ten minutes at Telegram's rate).
bench-nudges: $(INDEX_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.nudges $(BENCH_ARGS)

clean:
	rm -rf $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
