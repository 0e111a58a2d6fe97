# The two set-up commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: test demo venv bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the package (editable) with the extras needed by tests, demo and benchmarks.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/python -m skvae.demo

bench: venv
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo_output
