# zhiyi — `make run` sets everything up and serves the assistant; `make test` runs the suite.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install index run serve test bench eval clean

install: $(STAMP)

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(shell command -v $(PYTHON) >/dev/null 2>&1 && echo $(PYTHON) || echo python3) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch, from local disk; an unpinned torch would pull CUDA.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	@touch $(STAMP)

index: install
	$(VENV)/bin/zhiyi ensure-index

run: index
	@echo "智医助理已启动：http://127.0.0.1:7860"
	$(VENV)/bin/zhiyi serve

test: install
	$(PY) -m pytest -q

bench: index
	$(VENV)/bin/zhiyi bench

eval: index
	$(VENV)/bin/zhiyi eval eval/dev.jsonl --report var/reports/latest

clean:
	rm -rf var/index var/results var/reports
