# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-extract bench-dedup bench-process bench-search bench-reprocess lock clean stop system-packages fonts screenshots fuzz faults scale-check

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench,celery]"
	@touch $(STAMP)

# Debian packages, installed only when missing (needs root or sudo, and apt, as on CI): a CJK font for the
# weekly report's charts (`fonts`, all the demo needs), and the browser the rendering tests drive.
fonts:
	@fc-list :lang=zh family 2>/dev/null | grep -q . || $(call apt_install,fonts-wqy-microhei)

system-packages: fonts
	@command -v chromium >/dev/null 2>&1 || $(call apt_install,chromium)

define apt_install
{ command -v apt-get >/dev/null 2>&1 || { echo "install $(1) (or its equivalent) with your package manager"; exit 1; }; \
  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1); }
endef

demo: $(STAMP) fonts
	$(BIN)/pressmon demo

test: system-packages lint typecheck
	$(BIN)/python -m pytest -q

# The screenshots in docs/screenshots: the weekly report and a digest of the demo data, in headless Chromium.
screenshots: $(STAMP) system-packages
	$(BIN)/python -m tests.render.screenshots docs/screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy parsers/

bench: bench-extract bench-dedup bench-process bench-search

bench-extract: $(STAMP)
	$(BIN)/python -m benchmarks.extract

bench-dedup: $(STAMP)
	$(BIN)/python -m benchmarks.dedup

bench-process: $(STAMP)
	$(BIN)/python -m benchmarks.process

bench-search: $(STAMP)
	$(BIN)/python -m benchmarks.search

# Not part of `make bench`: about 15 minutes here (100,000 pages).
bench-reprocess: $(STAMP)
	$(BIN)/python -m benchmarks.reprocess --pages 10000 100000

stop: $(STAMP)
	$(BIN)/pressmon db stop

# Re-pin after changing dependencies in pyproject.toml (needs the package index).
lock:
	rm -rf /tmp/pressmon-lock && $(PYTHON) -m venv /tmp/pressmon-lock
	/tmp/pressmon-lock/bin/pip install --quiet -e ".[dev,bench,celery]"
	/tmp/pressmon-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The large fuzz run of decode and extract (docs/quality.md); `make test` runs 10,000 pages. `-p` reads the
# settings before tests/conftest.py clears the PRESSMON_* variables it does not know.
FUZZ_EXAMPLES ?= 100000
fuzz: $(STAMP)
	PRESSMON_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -p tests.parsers.fuzzing -q tests/parsers/test_fuzz.py

# The fault matrix of issue 8 (also part of `make test`): real crawl, Postgres and SMTP through every fault.
faults: $(STAMP)
	$(BIN)/python -m pytest -q tests/faults

# The nightly DAG on a real Airflow with CeleryExecutor: scheduler, dag-processor, api-server and two Celery
# workers against the Postgres and Redis of this machine (README, "Scaling out with Celery"); not part of
# `make test`. Options go through SCALE_CHECK_ARGS, e.g. SCALE_CHECK_ARGS='--redis redis://broker:6379/1'.
scale-check: $(STAMP)
	$(BIN)/python -m pressmon.scale_check $(SCALE_CHECK_ARGS)
