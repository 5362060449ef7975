# The two commands of the README:  `make run`  and  `make test`.
# Both create .venv in the checkout and install the project (torch pinned to the CPU wheel 2.13.0).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test index bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

index: setup
	$(BIN)/qa build --if-needed

run: index
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: index
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) index/builds index/current
