# rapportd: the two commands of the README's quick start, and the developer's chores.
# Each target creates .venv and installs rapportd into it when needed; only Python 3.11+ is required.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rapportd-installed
PYTEST_ARGS ?=

.PHONY: demo test lint reliability sweep bench wheel-check clean

# pip shows what it collects and installs (about a minute or two, once): not a silent wait.
$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "== installing rapportd and its dependencies into $(VENV) (once; a minute or two)"
	@$(BIN)/python -m pip install --upgrade --progress-bar on pip | grep -v '^Requirement already' || true
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "== installed: $(BIN)/rapportd"

## The main job: a generated scenario in the built-in sandbox, synced, analysed, drafted, reviewable.
demo: $(STAMP)
	$(BIN)/rapportd demo

## The whole test suite (PostgreSQL/Redis/RabbitMQ tests skip with a reason when a service is absent,
## and fail when CI=true).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --timeout=600 -q $(PYTEST_ARGS)

## Quality gates: ruff (lint + format) and mypy.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agent connectors jobs

## The long versions of the reliability suites (crash points, fault storms, fuzzing, load).
reliability: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --timeout=3600 -q --run-slow -m slow $(PYTEST_ARGS)

## The sandbox end-to-end tests with the clock held at instants across a week (late night,
## midnight, a weekend, a Monday morning, mid-week, a month's end): a world is generated
## around the clock's instant, so a test may pass only at some times of day. Pick others
## with SWEEP_AT="…" (aware ISO instants), other tests with SWEEP_TESTS="…".
SWEEP_AT ?= 2026-12-04T01:20:00+00:00 2026-12-04T23:50:00+00:00 2026-12-05T12:07:00+00:00 \
	2026-12-06T22:41:00+00:00 2026-12-07T08:05:00+00:00 2026-12-09T15:33:00+00:00 \
	2026-12-31T18:59:00+00:00
SWEEP_TESTS ?= tests/suggest/test_e2e_sandbox.py tests/brief/test_prep_sandbox.py \
	tests/web/test_browser_sandbox.py tests/web/test_browser_triage.py tests/web/test_browser.py \
	tests/connectors/test_contract_writes.py tests/connectors/test_contract_recent.py \
	tests/jobs/test_replay.py tests/jobs/test_distributed.py
sweep: $(STAMP)
	@for at in $(SWEEP_AT); do \
		echo "== clock held at $$at"; \
		$(BIN)/python -m pytest -n 2 --dist loadgroup --timeout=600 -q -p no:cacheprovider \
			--held-at $$at $(SWEEP_TESTS) $(PYTEST_ARGS) || exit 1; \
	done

## Proves the wheel: build it, install it into a fresh venv outside the source tree, run
## `rapportd demo --once` from it, serve and fetch the review page and a suggestion page, and
## check that drafts were written (.ci/wheel_check.py).
WHEEL_VENV ?= /tmp/rapportd-wheel-venv
wheel-check: $(STAMP)
	rm -rf build dist $(WHEEL_VENV)
	$(BIN)/python -m build --wheel --outdir dist . > /dev/null
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet dist/rapportd-*.whl
	$(WHEEL_VENV)/bin/rapportd --help > /dev/null
	$(WHEEL_VENV)/bin/python .ci/wheel_check.py dist/rapportd-*.whl $(CURDIR)
	rm -rf build

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
