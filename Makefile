# Two entry points for a newcomer: `make demo` and `make test`. Both bootstrap the virtualenv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export GX_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: venv lock demo test test-deps lint docs apply-prod ui flows serve data-docs bench bench-deps backtest clean

# Reproducible installs: the versions in uv.lock, exactly (`uv sync --frozen` never re-resolves).
# uv comes from pip the first time; after that the locked uv (dev extra) lives in the venv.
# After changing dependencies in pyproject.toml, run `make lock` and commit uv.lock.
# --compile-bytecode: every fresh process (a flow run, the CLI, a test session) otherwise
# compiles Great Expectations, Feast and pandas from source when PYTHONDONTWRITEBYTECODE is
# set (it is on this machine): 31-38 s for those imports under load 3, 7-9 s compiled.
UV_PIN := uv>=0.13,<0.14
$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || python3 -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check '$(UV_PIN)'
	UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --quiet --frozen --extra dev --compile-bytecode --python $(PY)
	touch $(STAMP)

venv: $(STAMP)

# Re-resolve uv.lock from pyproject.toml (the one command after adding a dependency).
lock:
	test -x $(VENV)/bin/uv || $(MAKE) venv
	$(VENV)/bin/uv lock

demo: venv
	PREFECT_LOGGING_LEVEL=$${PREFECT_LOGGING_LEVEL:-WARNING} $(VENV)/bin/stockfeatures demo

test: venv test-deps
	@$(VENV)/bin/uv lock --check --quiet || (echo "uv.lock does not match pyproject.toml: run \`make lock\` and commit uv.lock" >&2; exit 1)
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

# Ports: `make ui PORT=4300`, `make serve PORT=7000` (defaults 4200 and 6566).
UI_PORT := $(or $(PORT),4200)
SERVE_PORT := $(or $(PORT),6566)

# Prefect server with the UI on http://127.0.0.1:$(UI_PORT) (runs in the foreground).
ui: venv
	$(VENV)/bin/prefect server start --host 127.0.0.1 --port $(UI_PORT)

# Long-running: serves the scheduled deployments (daily_update, warm_up, intraday_push) to the server that
# `make ui` started (same PORT if you gave `make ui` one). Prefect pauses the schedules when this
# process exits.
flows: venv
	PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:$(UI_PORT)/api} $(PY) -m pipelines serve

# HTTP feature server (prod profile by default in production; any profile works).
serve: venv
	bash infra/serve.sh --host 127.0.0.1 --port $(SERVE_PORT) --workers 2

# Great Expectations Data Docs for the latest stored data -> data/data_docs/index.html
data-docs: venv
	$(PY) -m stockfeatures.validation docs

# The backtest example on the demo's data: table + docs/backtest_equity.png.
backtest: venv
	$(PY) examples/backtest.py

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
