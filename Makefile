# Two commands for a new user: `make reproduce PAPER=revisiting` and `make test`.
# python3.11 when present, else python3 (checked to be 3.11+ below).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PAPER ?= revisiting
PROFILE ?= cpu
EXPERIMENTS ?=
SUITE_ARGS = $(PAPER) --profile $(PROFILE) $(if $(EXPERIMENTS),--experiments $(EXPERIMENTS))
UI_PORT ?= 5000
export HF_HUB_OFFLINE := 1

.PHONY: setup reproduce run report plan test ui clean-runs

# The virtual environment is created on first use from the pins in pyproject.toml (CPU torch 2.13.0).
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' \
	  || { echo "make: $(PYTHON) is missing or older than 3.11; run: make PYTHON=/path/to/python3.11 ..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/.installed

reproduce: setup  ## plan, run missing trials, analyse, report
	$(BIN)/suite reproduce $(SUITE_ARGS)

run: setup
	$(BIN)/suite run $(SUITE_ARGS)

report: setup
	$(BIN)/suite report $(SUITE_ARGS)

plan: setup
	$(BIN)/suite plan $(SUITE_ARGS)

test: setup
	$(BIN)/python -m pytest -q

ui: setup  ## MLflow UI over the local store, bound to 127.0.0.1
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/runs/mlflow.db --host 127.0.0.1 --port $(UI_PORT)

clean-runs:
	rm -rf runs
