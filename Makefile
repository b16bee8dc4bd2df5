# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
VENV := .venv
STAMP := $(VENV)/.synced
# Use this machine's Python 3.11+; never download one.
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup run test lint bench bench-big clean

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock
ifeq ($(UV),)
	$(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv sync --frozen --all-groups --compile-bytecode
else
	$(UV) sync --frozen --all-groups --compile-bytecode
endif
	@touch $(STAMP)

run: setup
	$(VENV)/bin/streamlit run app.py

test: setup
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python -m bench.fetch
	$(VENV)/bin/python -m bench.reconcile
	$(VENV)/bin/python -m bench.settlements
	$(VENV)/bin/python -m bench.pages
	$(VENV)/bin/python -m bench.team_store
	$(VENV)/bin/python -m bench.startup

# 30M orders × 30M lines, Rekon's commands alone (≈ 10 min, ≈ 8 GB of disk).
bench-big: setup
	$(VENV)/bin/python -m bench.big_month

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
