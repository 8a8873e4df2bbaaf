# autoresearch — every target installs what it needs first and is safe to run again.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
AR      = $(VENV)/bin/autoresearch
STAMP   = $(VENV)/.installed
MODEL  ?= qwen1.5b
ARGS   ?=
SWIFT  := $(shell command -v swift 2>/dev/null)

.PHONY: train-deps train-deps-for-test setup run test bench native swift-test models-test models-run models-bench system-deps clean help

help:
	@echo "make run    install, fetch the default model, init the database, start the loop (ARGS=...)"
	@echo "make test   install, fetch the test models, build the Swift runner, run the test suite"
	@echo "make bench  install and print the side-by-side benchmark figures"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

# the optional training extra, CPU-only torch first (README "Training")
train-deps: setup
	$(PY) -c "from loop.training.deps import ensure; ensure()"

# what `make test` installs of it: the extra where CPU-only torch is at hand (else a note; the real LoRA test skips)
train-deps-for-test: setup
	$(PY) -c "from loop.training.deps import ensure_where_cpu_torch; ensure_where_cpu_torch()"

native:
ifneq ($(SWIFT),)
	cd native && swift build -c release --product fm-runner $$(./sdk-flags.sh)
else
	@echo "swift not found: skipping the fm-runner build (the llama runner is used)"
endif

# The XCTest suite of native/ (FMRunnerCore: protocol, dialect, mock). Fails when it fails and prints
# the XCTest count; without swift it says the suite was not run and why (the Python suite still runs).
SWIFT_TEST_LOG = native/.build/swift-test.log
swift-test:
ifneq ($(SWIFT),)
	@mkdir -p native/.build
	@echo "swift test (native/): running the XCTest suite"
	@cd native && swift test > .build/swift-test.log 2>&1; rc=$$?; \
	  grep -E "error:|failed \(" .build/swift-test.log | head -40; \
	  summary=$$(grep -E "Test Suite 'All tests' (passed|failed)" -A1 .build/swift-test.log | grep -E "Executed [0-9]+ test" | tail -1 | sed "s/^[[:space:]]*/ /"); \
	  echo "swift test: XCTest$${summary:- (no XCTest summary: see $(SWIFT_TEST_LOG))}"; \
	  if [ $$rc -ne 0 ]; then echo "swift test FAILED (exit $$rc); full log: $(SWIFT_TEST_LOG)"; tail -30 .build/swift-test.log; exit $$rc; fi
else
	@echo "swift test: NOT RUN: swift is not installed here (no \`swift\` on PATH), so the XCTest suite of native/ was skipped; install a Swift 6 toolchain to run it"
endif

# bubblewrap confines pipelines on Linux; chromium drives the dashboard tests; the PostgreSQL server
# (initdb, found on PATH or in Debian's /usr/lib/postgresql/*/bin) runs the record tests on PostgreSQL
# (tests/pg.py). Installed with apt when missing and we may (root on Debian); elsewhere a note says what
# the affected tests need.
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	if [ -n "$$missing" ] && [ "$$(uname)" = Linux ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install$$missing for the sandbox and dashboard tests"; fi; \
	fi

models-test: setup
	$(AR) models fetch --model smollm2 --model minilm

models-run: setup
	$(AR) models fetch --model $(MODEL) --model minilm

run: system-deps models-run native
	$(AR) init
	$(AR) run --model $(MODEL) $(ARGS)

test: system-deps models-test train-deps-for-test native swift-test
	$(PY) -m pytest -q --durations=25 $(ARGS)

# the training bench (bench/bench_training.py) also measures LoRA on Qwen2.5-0.5B, and needs the [train] extra
models-bench: setup
	$(AR) models fetch --model qwen0.5b

bench: models-test models-run models-bench train-deps-for-test native
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) native/.build
