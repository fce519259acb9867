# Two commands a new user needs: `make test`, and (until the web platform lands) `make demo`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup test demo check-exercises clean

$(BIN)/gradelab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/gradelab

test: setup
	$(BIN)/python -m pytest -n 2

demo: setup
	$(BIN)/gradelab grade linear exercises/linear/solutions/seed.py

check-exercises: setup
	$(BIN)/gradelab check-exercises

clean:
	rm -rf $(VENV) build *.egg-info
