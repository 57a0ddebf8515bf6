# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-extract bench-dedup bench-process lock clean stop

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pressmon demo

test: lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy parsers/

bench: bench-extract bench-dedup bench-process

bench-extract: $(STAMP)
	$(BIN)/python -m benchmarks.extract

bench-dedup: $(STAMP)
	$(BIN)/python -m benchmarks.dedup

bench-process: $(STAMP)
	$(BIN)/python -m benchmarks.process

stop: $(STAMP)
	$(BIN)/pressmon db stop

# Re-pin after changing dependencies in pyproject.toml (needs the package index).
lock:
	rm -rf /tmp/pressmon-lock && $(PYTHON) -m venv /tmp/pressmon-lock
	/tmp/pressmon-lock/bin/pip install --quiet -e ".[dev,bench]"
	/tmp/pressmon-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
