# The two commands of the README: `make demo` and `make test`.
# Each builds a local virtual environment (.venv) on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): setup.py requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

.PHONY: demo test test-full bench lint
demo: $(STAMP)
	$(VENV)/bin/safe-control-demo --out out/demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	bash .ci/typecheck
	$(VENV)/bin/python -m pytest -q -m "not full" test

# The slow groups at their full size too (falsification campaigns, laps, HIL): 5 min more.
test-full: $(STAMP)
	$(VENV)/bin/python -m pytest -q test

bench: $(STAMP)
	$(VENV)/bin/python bench/solve_times.py
