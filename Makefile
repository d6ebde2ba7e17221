# Two commands: `make run` (set up, fetch the default gallery if possible, start the app)
# and `make test` (set up, lint, run every test). Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.artsim-installed

.PHONY: run test setup lint browser-deps a11y-deps bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	@if [ -z "$$ARTSIM_GALLERY" ]; then \
	  $(BIN)/artsim gallery fetch || echo "(carrying on: the app works on any folder, see README)"; fi
	$(BIN)/streamlit run streamlit_app.py

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: install Debian's chromium package for the browser test"; fi; }

# axe-core for the accessibility browser test (tests/a11y/package-lock.json pins it).
a11y-deps: tests/a11y/node_modules/axe-core/axe.min.js

tests/a11y/node_modules/axe-core/axe.min.js: tests/a11y/package.json tests/a11y/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else echo "npm not found: install Debian's npm package for the accessibility test"; fi; }
	cd tests/a11y && npm ci --no-audit --no-fund --ignore-scripts --silent
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) browser-deps a11y-deps lint
	$(BIN)/python -m pytest --numprocesses=auto --maxprocesses=2 --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/embed_throughput.py --images ../shared/gallery
	$(BIN)/python benchmarks/rerun_latency.py --n 1000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
