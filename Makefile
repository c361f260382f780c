# Parley — `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint schema test-godot demo-godot test-llm sidecar package bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Parley needs Python 3.11+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/parley demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory lint
	@if [ -n "$$GODOT_BIN" ]; then $(MAKE) --no-print-directory test-godot; \
	 else echo "SKIPPED: GDScript tests (set GODOT_BIN to a Godot 4 binary to run them)"; fi

lint: $(STAMP)
	$(BIN)/ruff check sidecar engine_bindings/python tests
	$(BIN)/parley schema --check

schema: $(STAMP)
	$(BIN)/parley schema

bench: $(STAMP)
	$(BIN)/parley bench

sidecar package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python build/build_sidecar.py --quiet

clean:
	rm -rf $(VENV) build/work dist
