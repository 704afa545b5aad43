# Two commands for a fresh machine with Python 3.11 and make: `make book` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
JOBS   ?= 2

.PHONY: book test lab binder-check notebooks clean venv dev

# The venv is rebuilt when its inputs change; a stamp file records each install.
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.book-stamp: requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-stamp: $(VENV)/.book-stamp
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.book-stamp
dev: $(VENV)/.dev-stamp

book: $(VENV)/.book-stamp
	$(BIN)/jupyter-book build . --builder html
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

# Notebooks readers and students run (the instructors' masters in exercises/source are
# checked by the grading tests instead: they hold solutions and hidden tests).
NOTEBOOKS = $(sort $(wildcard book/*.ipynb exercises/*.ipynb))

# The main pytest run includes tests/lab (every chapter in a real JupyterLab, Chromium): one file,
# so --dist loadfile keeps it on one worker with one JupyterLab server.
test: $(VENV)/.dev-stamp
	$(BIN)/lint-imports
	$(BIN)/ruff check dscourse tests benchmarks
	$(BIN)/mypy dscourse
	$(PY) -m pytest -n $(JOBS) --dist loadfile --ignore=tests/browser tests
	$(if $(NOTEBOOKS),$(PY) -m pytest -n $(JOBS) --dist loadfile --nbval --nbval-sanitize-with tests/sanitize.cfg $(NOTEBOOKS),@echo "no notebooks yet")
	$(PY) tests/build_book.py   # builds the book once, then runs tests/browser against it

# JupyterLab with live widgets and MyST rendering (jupyterlab-myst, from requirements.txt).
lab: $(VENV)/.book-stamp
	$(BIN)/jupyter lab

# Binder's environment, checked: a fresh venv from runtime.txt and requirements.txt alone,
# then the lab suite (tests/lab: every chapter and its main widget in Chromium) against it.
# Separate from `make test` because building the environment takes minutes.
binder-check: $(VENV)/.dev-stamp
	$(PY) tests/lab/binder_check.py

# Re-execute every notebook as it is committed: student notebooks regenerated from their
# masters, then chapters, masters and student notebooks executed with static figures instead
# of widget state (small files; the text output is the same as with live widgets, which nbval
# checks) and no timing metadata (`dscourse execute`).
MASTERS = $(sort $(wildcard exercises/source/*.ipynb))

notebooks: $(VENV)/.dev-stamp
	$(foreach m,$(MASTERS),$(BIN)/dscourse assign $(m) &&) true
	$(BIN)/dscourse execute $(sort $(wildcard book/*.ipynb)) $(MASTERS) $(sort $(wildcard exercises/*.ipynb))

clean:
	rm -rf _build
