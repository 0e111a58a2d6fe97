# The two set-up commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: test demo venv bench clean docs

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

# The docs extra: Sphinx, numpydoc, sphinx-gallery, the theme and a local MathJax.
$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

# HTML documentation in docs/_build/html, offline. -W: any warning (a docstring numpydoc cannot
# parse, a broken cross-reference, a gallery script that raises) fails the build. Built from
# scratch each time, since an incremental build would not repeat old pages' warnings.
docs: $(VENV)/.installed-docs
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

demo: venv
	$(BIN)/python -m skvae.demo

bench: venv
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo_output
