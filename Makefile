# Two commands do everything on a fresh machine with python3 and make:
#   make run    the reference server on the embedded SQLite default
#   make test   create .venv, install, run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := dev,server,sql,postgres,mongo,aws,redis

.PHONY: run test lint typecheck bench replay clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/alertwhisperer serve

replay: $(BIN)/.installed
	$(BIN)/alertwhisperer replay --demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check src adapters tests benchmarks
	$(BIN)/ruff format --check src adapters tests benchmarks

typecheck: $(BIN)/.installed
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
