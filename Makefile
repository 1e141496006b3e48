# Two commands do everything on a fresh machine:
#   make demo   install into .venv, then continue a folk melody with the bundled model
#   make test   install into .venv, then run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench pretrained clean

install: $(STAMP)

# torch==2.13.0 first, when no torch is there: an unpinned torch would pull the CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[app,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/continuo demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

# Rebuild the bundled models (src/continuo/pretrained/folk and piano) from ../shared/data;
# `make pretrained MODELS=piano` rebuilds one. A killed build resumes where it stopped.
MODELS ?=
pretrained: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) scripts/build_pretrained.py $(MODELS)

# The benchmarks whose results are recorded in benchmarks/RESULTS.md.
bench: $(STAMP)
	$(PY) benchmarks/prepare_essen.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis continuo-output
