# `make demo` and `make test` set everything up from nothing: a .venv with pinned dependencies.
# PYTHON: the interpreter to build the .venv with; by default python3 when syncbot supports it
# (syncbot/pythons.py says which do), else the newest supported pythonX.Y on PATH.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,python3 python3.13 python3.12 python3.11,$(shell $(p) syncbot/pythons.py 2>/dev/null && echo $(p))) python3)
endif
VENV := .venv
BIN := $(VENV)/bin
# Options for `make bench`, e.g. make bench ARGS='--numbers 500000 --no-sheet'
ARGS ?=
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: setup demo test suite lint fmt bench clean

# Refuses an unsupported Python in one line; rebuilds a .venv that another interpreter built or
# that no longer runs; installs the locked dependencies when they changed.
setup:
	@$(PYTHON) syncbot/pythons.py --venv $(VENV)
	@test -f $(STAMP) || { \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]' \
	  && rm -f $(VENV)/.installed-* && touch $(STAMP); }

demo: setup
	$(BIN)/syncbot demo

lint: setup
	$(BIN)/ruff check syncbot tests bench
	$(BIN)/ruff format --check syncbot tests bench
	$(BIN)/mypy --strict syncbot bench

test: lint suite

# The tests alone: CI runs them again on the newest Python (.ci/run).
suite: setup
	$(BIN)/pytest

fmt: setup
	$(BIN)/ruff check --fix syncbot tests bench
	$(BIN)/ruff format syncbot tests bench

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	$(BIN)/python -m bench $(ARGS)

# Everything make, the tools, the demo and the sandbox made; never syncbot.db, which holds the
# history your own syncs stored.
clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache .pytest_cache build *.egg-info \
	  syncbot-demo.db* syncbot-sandbox.db* syncbot-sandbox-key.json
	@test ! -e syncbot.db || echo "Kept syncbot.db: your store and its history (delete it yourself)."
