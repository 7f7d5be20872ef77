# `make demo` and `make test` set everything up from nothing: a .venv with pinned dependencies.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Options for `make bench`, e.g. make bench ARGS='--numbers 500000 --no-sheet'
ARGS ?=
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint check-format fmt bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/syncbot demo

lint: setup
	$(BIN)/ruff check syncbot tests bench
	$(BIN)/ruff format --check syncbot tests bench
	$(BIN)/mypy --strict syncbot bench

test: lint
	$(BIN)/pytest

fmt: setup
	$(BIN)/ruff check --fix syncbot tests bench
	$(BIN)/ruff format syncbot tests bench

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache syncbot-demo.db*
