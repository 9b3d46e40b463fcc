# tgsr: two commands on a fresh machine (needs only python3 >= 3.10 and make):
#   make reproduce   install, then run every notebook headless and write figures/
#   make test        install, then run the tests and nbval on the notebooks
# Set TGSR_DATA_DIR to a local copy of the authors' files to work offline.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test reproduce lint benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check tgsr_lib tests benchmarks
	$(PY) -m pytest tests --nbval notebooks -p no:cacheprovider

# Runs all notebooks with papermill into results/notebooks (ignored by git), reusing the
# grid cache; pass ARGS="--recompute" to recompute every grid, or papermill -p options.
reproduce: $(STAMP)
	$(PY) -m tgsr_lib.reproduce $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check tgsr_lib tests benchmarks

benchmark: $(STAMP)
	$(PY) benchmarks/grid_speed.py

clean:
	rm -rf $(VENV) results .pytest_cache
