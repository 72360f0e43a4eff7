# `make demo` and `make test` work on a fresh machine: both create .venv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test docs clean

# torch is pinned to the local CPU wheel: an unpinned torch pulls several GB
# of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python -m pkdot_sk demo

# The tests, then the documentation site with warnings as errors (its
# gallery executes every example).
test: $(STAMP)
	$(VENV)/bin/python -m pytest
	$(MAKE) docs

docs: $(STAMP)
	rm -rf docs/_build docs/generated docs/auto_examples
	cd docs && OMP_NUM_THREADS=1 MPLBACKEND=Agg ../$(VENV)/bin/python -m sphinx -W --keep-going -q -b html . _build/html

clean:
	rm -rf $(VENV) docs/_build docs/generated docs/auto_examples
