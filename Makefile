# Two commands a new user needs: `make serve` (the site) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# Debian packages the sandbox needs (bubblewrap; libseccomp for the per-submission filter).
SYSTEM_PACKAGES := bubblewrap libseccomp2
# The browser tests drive Debian's Chromium (Playwright never downloads one); a CJK font for the
# screenshots of the Chinese pages; docker-compose (v1, no engine needed) to validate docker-compose.yml.
TEST_PACKAGES := chromium fonts-wqy-zenhei docker-compose
ASSETS := platform/node_modules/.package-lock.json
TRANSLATIONS := platform/gradelab/translations/zh/LC_MESSAGES/messages.mo

.PHONY: setup system test-system serve test demo check-exercises translations clean

$(BIN)/gradelab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The browser libraries (editor, math, charts, htmx), exactly as package-lock.json pins them.
$(ASSETS): platform/package.json platform/package-lock.json
	npm ci --prefix platform --no-audit --no-fund --loglevel=error
	touch $@

$(TRANSLATIONS): platform/gradelab/translations/zh/LC_MESSAGES/messages.po $(BIN)/gradelab
	$(BIN)/pybabel compile --use-fuzzy -d platform/gradelab/translations >/dev/null

setup: system $(BIN)/gradelab $(ASSETS) $(TRANSLATIONS)

# After changing a message in the code or templates: refresh the catalog, then translate the new entries.
translations: $(BIN)/gradelab
	cd platform && ../$(BIN)/pybabel extract -F babel.cfg -k _l -o gradelab/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i platform/gradelab/translations/messages.pot -d platform/gradelab/translations

system:
	@if ! command -v bwrap >/dev/null || ! /sbin/ldconfig -p | grep -q 'libseccomp\.so\.2'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "The grading sandbox needs: $(SYSTEM_PACKAGES) (e.g. sudo apt-get install $(SYSTEM_PACKAGES))." >&2; \
	    echo "Without them, only 'gradelab grade --unsafe-no-sandbox' can run your own code." >&2; exit 1; \
	  fi; \
	fi

test-system:
	@if ! dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "The browser tests need Debian's Chromium and a CJK font (sudo apt-get install $(TEST_PACKAGES))." >&2; exit 1; \
	  fi; \
	fi

# The site on the embedded default: SQLite in ./instance, grading in-process, demo accounts printed.
serve: setup
	$(BIN)/gradelab serve

test: setup test-system
	$(BIN)/python -m pytest -n 2

demo: setup
	$(BIN)/gradelab grade linear exercises/linear/solutions/seed.py

check-exercises: setup
	$(BIN)/gradelab check-exercises

clean:
	rm -rf $(VENV) build *.egg-info platform/node_modules $(TRANSLATIONS)
