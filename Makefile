# The two commands a newcomer needs:
#   make run    set up .venvs/dev and serve the demo site on http://localhost:8080/
#   make test   set up one venv per distribution and run every test (see scripts/test-matrix.py)
# Everything else is for maintainers. Only Python 3.11+ and make are assumed;
# the scripts fetch uv (or fall back to pip) from PyPI themselves.

PYTHON ?= python3
# The interpreter every venv is made from: the real one, never a download.
PY := $(or $(shell command -v $(PYTHON)),$(error $(PYTHON) not found: install Python 3.11+ or pass PYTHON=...))
VENVS := .venvs
DEV := $(VENVS)/dev
DOCS_VENV := $(VENVS)/docs

# `make test PKG=web2-core` (or PKG=cross, or PKG=web2-core,web2-static) runs only those.
PKG ?=
# Extra pytest arguments for every run, e.g. PYTEST_ARGS="-x -k channel".
PYTEST_ARGS ?=

# How `make run` starts the demo site; override on the command line to try another,
# e.g. make run RUN_CMD='$(DEV)/bin/twistd -n web2 --config examples/demo/site.toml'
DEMO_CONFIG ?= examples/demo/site.toml
RUN_CMD ?= $(DEV)/bin/python -m web2 --config $(DEMO_CONFIG)

.PHONY: help run dev test test-loaded test-hostile fuzz wheels docs docs-venv bench bench-quick lint clean distclean

help:
	@echo "make run          serve the demo site on http://localhost:8080/"
	@echo "make test         run every test, one venv per distribution (PKG=web2-core for one)"
	@echo "make test-loaded  run make test LOADED_RUNS times in a row beside a busy process per CPU (hours)"
	@echo "make test-hostile run the hostile-client suite with its minute-long cases (tests/test_hostile_*.py)"
	@echo "make fuzz         fuzz web2's request reader against h11, 10^6 inputs (FUZZ_INPUTS=...)"
	@echo "make dev          create/refresh .venvs/dev (all packages editable)"
	@echo "make wheels       build the sdist and wheel of every distribution into dist/"
	@echo "make docs         build the Sphinx docs into docs/_build/html (warnings are errors)"
	@echo "make bench        run the benchmarks (bench/run.py); bench-quick for a short run"
	@echo "make clean        remove build outputs; distclean also removes .venvs/"

dev:
	$(PY) scripts/bootstrap.py dev

run: dev
	$(RUN_CMD)

test:
	$(PY) scripts/test-matrix.py $(PKG) --pytest-args="$(PYTEST_ARGS)"

# `make test` again and again under CPU load (issue #19: twenty runs in a
# row must pass); logs and a line per run under build/loaded-runs/.
LOADED_RUNS ?= 20
test-loaded:
	$(PY) scripts/loaded-runs.py --runs $(LOADED_RUNS)

# The hostile-client suite (issue #14) with its long cases: minute-long
# attacks on 1, 10 and 100 connections held to the strict bounds (50 ms
# /health, 64 MiB memory growth); `make test` runs only its fast cases.
# It runs in the cross-package venv that `make test` made (the compiled build,
# as of that run), else in .venvs/dev (editable, pure Python);
# PYTEST_ARGS="-m long" runs the long cases alone.
HOSTILE_VENV = $(if $(wildcard $(VENVS)/test-cross/bin/pytest),$(VENVS)/test-cross,$(DEV))

test-hostile: $(if $(wildcard $(VENVS)/test-cross/bin/pytest),,dev)
	WEB2_LONG=1 $(HOSTILE_VENV)/bin/pytest -c pyproject.toml --rootdir . -ra \
		$(wildcard tests/test_hostile_*.py) $(PYTEST_ARGS)

# The differential fuzzer's long run (issue #14): FUZZ_INPUTS inputs of seed
# FUZZ_SEED, each parsed by web2's request reader and by h11 and compared, in
# one process per CPU (FUZZ_JOBS=n for n); it prints how many inputs each known
# difference explained.  `make test` runs a few thousand of them.
FUZZ_INPUTS ?= 1000000
FUZZ_SEED ?= 14
FUZZ_JOBS ?=

fuzz: dev
	$(DEV)/bin/python -m pip install -q -r packages/web2-core/tests/requirements.txt
	WEB2_FUZZ_INPUTS=$(FUZZ_INPUTS) WEB2_FUZZ_SEED=$(FUZZ_SEED) WEB2_FUZZ_JOBS=$(FUZZ_JOBS) \
		$(DEV)/bin/pytest -c pyproject.toml --rootdir . -q -s --timeout=3600 \
		packages/web2-core/tests/test_wire_differential.py -k test_longRun $(PYTEST_ARGS)

wheels:
	$(PY) scripts/build-dists.py --clean --out dist

docs-venv:
	$(PY) scripts/bootstrap.py docs

docs: docs-venv
	$(DOCS_VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# bench/run.py sets up its own venvs: the peers', web2 compiled (as users
# install it) and web2 editable (pure Python).
BENCH_ARGS ?=
bench:
	$(PY) bench/run.py $(BENCH_ARGS)

bench-quick:
	$(PY) bench/run.py --quick $(BENCH_ARGS)

lint: dev
	$(DEV)/bin/python -m pip install -q ruff
	$(DEV)/bin/ruff check scripts tests packages

clean:
	rm -rf dist build docs/_build
	find . -name __pycache__ -not -path './$(VENVS)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENVS)
