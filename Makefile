# Two entry points for a newcomer: `make demo` and `make test`. Both bootstrap the virtualenv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export GX_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: venv demo test test-deps lint docs apply-prod ui flows serve data-docs bench bench-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]' || $(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	PREFECT_LOGGING_LEVEL=$${PREFECT_LOGGING_LEVEL:-WARNING} $(VENV)/bin/stockfeatures demo

test: venv test-deps
	$(VENV)/bin/ruff check src tests pipelines expectations benchmarks examples feature_repo
	$(VENV)/bin/stockfeatures docs --check
	$(PY) -m stockfeatures.validation suite --check
	$(VENV)/bin/pytest

test-deps:
	bash infra/ci/install-test-deps.sh

lint: venv
	$(VENV)/bin/ruff check src tests pipelines expectations benchmarks examples feature_repo

docs: venv
	$(VENV)/bin/stockfeatures docs

apply-prod: venv
	$(VENV)/bin/stockfeatures --profile prod migrate
	$(VENV)/bin/stockfeatures --profile prod apply

# Prefect server with the UI on http://127.0.0.1:4200 (runs in the foreground).
ui: venv
	$(VENV)/bin/prefect server start --host 127.0.0.1 --port 4200

# Long-running: serves the scheduled deployments (daily_update, warm_up) to the server that
# `make ui` started. Prefect pauses the schedules when this process exits.
flows: venv
	PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:4200/api} $(PY) -m pipelines serve

# HTTP feature server (prod profile by default in production; any profile works).
serve: venv
	bash infra/serve.sh --host 127.0.0.1 --port 6566 --workers 2

# Great Expectations Data Docs for the latest stored data -> data/data_docs/index.html
data-docs: venv
	$(PY) -m stockfeatures.validation docs

bench-deps:
	command -v hey >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq hey)

# Side-by-side benchmarks against stock Feast; results in benchmarks/results/.
bench: venv bench-deps
	$(PY) benchmarks/bench_compute.py
	$(PY) benchmarks/bench_validation.py
	$(PY) benchmarks/bench_online.py
	$(PY) benchmarks/bench_pit.py
	$(PY) benchmarks/bench_http.py

clean:
	rm -rf data/local .pytest_cache
