# Two commands for a new user: `make reproduce PAPER=revisiting` and `make test`.
# python3.11 when present, else python3 (checked to be 3.11+ below).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PAPER ?= revisiting
PROFILE ?= cpu
EXPERIMENTS ?=
BUDGET ?=
EXPERIMENT ?= methods
TASKS ?=
RAY_ADDRESS ?=
BENCH_ARGS ?=
SUITE_ARGS = $(PAPER) --profile $(PROFILE) $(if $(EXPERIMENTS),--experiments $(EXPERIMENTS)) $(if $(BUDGET),--budget $(BUDGET))
CLUSTER_ARGS = $(if $(RAY_ADDRESS),--ray-address $(RAY_ADDRESS))
UI_PORT ?= 5000
MLFLOW_HOST ?= 127.0.0.1
MLFLOW_PORT ?= 5001
PG_PORT ?= 5433
export HF_HUB_OFFLINE := 1

.PHONY: setup reproduce run report report-pdf plan search test test-fast bench ui postgres postgres-stop mlflow-server clean-runs

# The virtual environment is created on first use from the pins in pyproject.toml (CPU torch 2.13.0).
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' \
	  || { echo "make: $(PYTHON) is missing or older than 3.11; run: make PYTHON=/path/to/python3.11 ..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[test,bench]'
	@# byte-compiled on every core (pip compiles one file at a time: ~70 s of a 2-minute setup on 2 cores); as pip
	@# does, a file this Python cannot compile (torch's py312-only test helper) is skipped
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	@touch $@

setup: $(BIN)/.installed

reproduce: setup  ## plan, run missing trials, analyse, report
	$(BIN)/suite reproduce $(SUITE_ARGS) $(CLUSTER_ARGS)

run: setup
	$(BIN)/suite run $(SUITE_ARGS) $(CLUSTER_ARGS)

search: setup  ## ASHA over an experiment's declared grids: make search PAPER=revisiting EXPERIMENT=methods
	$(BIN)/suite search $(PAPER) --experiment $(EXPERIMENT) --profile $(PROFILE) $(if $(TASKS),--tasks $(TASKS)) $(CLUSTER_ARGS)

report: setup
	$(BIN)/suite report $(SUITE_ARGS)

report-pdf: setup  ## runs/reports/<paper>-<profile>/report.tex -> report.pdf (pdflatex; see docs/operations.md, "PDF reports")
	$(BIN)/python -m reports.pdf $(PAPER) --profile $(PROFILE)

plan: setup
	$(BIN)/suite plan $(SUITE_ARGS)

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup  ## the tests that need no smoke study (Ray Tune, MLflow runs): maths, config, reports' parts
	$(BIN)/python -m pytest -q -m "not study" -n auto

bench: setup  ## trainer vs transformers.Trainer, levers, study efficiency, report rebuild -> docs/benchmarks.md
	$(BIN)/python -m bench $(BENCH_ARGS)

ui: setup  ## MLflow UI over the local store, bound to 127.0.0.1; prints a link to each study's runs
	$(BIN)/suite ui --port $(UI_PORT)

# A shared tracking store for clusters: PostgreSQL (password from $$POSTGRES_PASSWORD), then the MLflow server on it.
postgres: setup
	$(BIN)/python -m pipelines.services postgres start --port $(PG_PORT)

postgres-stop: setup
	$(BIN)/python -m pipelines.services postgres stop

mlflow-server: setup  ## MLFLOW_BACKEND_STORE_URI (default: `make postgres`'s); binds $(MLFLOW_HOST)
	$(BIN)/python -m pipelines.services mlflow --host $(MLFLOW_HOST) --port $(MLFLOW_PORT)

clean-runs:
	rm -rf runs
