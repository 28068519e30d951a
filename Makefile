# Two entry points for a newcomer: `make demo` and `make test`. Both bootstrap the virtualenv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export GX_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: venv demo test test-deps lint docs apply-prod clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]' || $(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/stockfeatures demo

test: venv test-deps
	$(VENV)/bin/ruff check src tests pipelines expectations benchmarks examples feature_repo
	$(VENV)/bin/stockfeatures docs --check
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

clean:
	rm -rf data/local .pytest_cache
