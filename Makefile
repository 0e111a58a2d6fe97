# The two set-up commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: test demo venv bench bench-quick clean docs

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

# Benchmarks: each script prints its tables and writes them to benchmarks/results/<name>.md
# (--quick runs to benchmarks/results/quick/<name>.md). Fashion-MNIST benchmarks need Debian's
# dataset-fashion-mnist; the table ones read ../shared/data/tables (or $SKVAE_TABLES).
# Every script runs even if one fails; the target fails at the end if any did.
BENCH_SCRIPTS := $(sort $(wildcard benchmarks/bench_*.py))

# The full runs: hours on 2 cores (bench_quality's five Fashion-MNIST fits take about two).
bench: venv
	@status=0; for script in $(BENCH_SCRIPTS); do \
		$(BIN)/python $$script || { echo "FAILED: $$script"; status=1; }; \
	done; exit $$status

# The small version of each: about 10 minutes in all on 2 cores.
bench-quick: venv
	@status=0; for script in $(BENCH_SCRIPTS); do \
		$(BIN)/python $$script --quick || { echo "FAILED: $$script --quick"; status=1; }; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo_output
