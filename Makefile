# t2t — two commands on a fresh machine (Python 3.11 + make):
#   make book    set everything up, generate the embedded virtual cohort, run every notebook, build the HTML book
#   make test    run the test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PROFILE ?= quick
STAMP   := $(VENV)/.installed-stamp

.PHONY: setup test book clean bench lab pdf update-golden

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	# torch first, pinned, so that nothing below pulls a newer torch with CUDA packages
	$(BIN)/python -m pip install -qq torch==2.13.0
	# pyradiomics has only an sdist, whose build needs numpy and versioneer already installed
	$(BIN)/python -m pip install -qq numpy versioneer
	$(BIN)/python -m pip install -qq --no-build-isolation pyradiomics==3.0.1
	$(BIN)/python -m pip install -qq -e '.[book,dev,pipelines]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(BIN)/python -m pytest

book: setup
	$(BIN)/python book/build.py --profile $(PROFILE)

# The book's numbers pinned by tests/golden/test_golden.py: run the smoke chapters it pins (or reuse
# their up-to-date results) and rewrite tests/golden/smoke.csv; commit it when a change is intended
update-golden: setup
	$(BIN)/python -m tests.golden.update

bench: setup
	$(BIN)/python benchmarks/bench_simulate.py

clean:
	rm -rf _build

# The teaching lab with live sliders (ipywidgets): JupyterLab on notebooks/teaching/
lab: setup
	$(BIN)/jupyter lab notebooks/teaching

# The book as one PDF (Jupyter Book's LaTeX builder; needs a TeX installation, see book/build.py --pdf)
pdf: setup
	$(BIN)/python book/build.py --profile $(PROFILE) --pdf
