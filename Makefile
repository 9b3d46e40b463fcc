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

# The package (editable) with every extra (notebooks, dask, video, baselines) and the test
# tools; the library alone needs only `pip install -e .` (see the README).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,test]"
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
	rm -rf $(VENV) results .pytest_cache _build

# The paper as a website: the executed notebooks (results/notebooks from `make reproduce`,
# else the committed ones with their stored outputs) rendered by Sphinx + myst-nb into
# _build/html (open _build/html/index.html); no notebook is re-executed.
.PHONY: book browser-test
book: $(STAMP)
	$(PY) book/build.py

# The explorer (notebook 09) in JupyterLab and the book, driven in headless chromium
# (apt-get install chromium); screenshots in pytest's temporary folder.
browser-test: $(STAMP)
	$(PY) -m pytest tests/test_browser.py -p no:cacheprovider -v
