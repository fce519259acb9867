# Two commands a new user needs: `make test`, and (until the web platform lands) `make demo`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# Debian packages the sandbox needs (bubblewrap; libseccomp for the per-submission filter).
SYSTEM_PACKAGES := bubblewrap libseccomp2

.PHONY: setup system test demo check-exercises clean

$(BIN)/gradelab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: system $(BIN)/gradelab

system:
	@if ! command -v bwrap >/dev/null || ! /sbin/ldconfig -p | grep -q 'libseccomp\.so\.2'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "The grading sandbox needs: $(SYSTEM_PACKAGES) (e.g. sudo apt-get install $(SYSTEM_PACKAGES))." >&2; \
	    echo "Without them, only 'gradelab grade --unsafe-no-sandbox' can run your own code." >&2; exit 1; \
	  fi; \
	fi

test: setup
	$(BIN)/python -m pytest -n 2

demo: setup
	$(BIN)/gradelab grade linear exercises/linear/solutions/seed.py

check-exercises: setup
	$(BIN)/gradelab check-exercises

clean:
	rm -rf $(VENV) build *.egg-info
