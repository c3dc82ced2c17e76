# Vademecum task runner. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export VADEMECUM_HOME ?= var
export VADEMECUM_CORPUS ?= ../shared/corpus

.PHONY: run test lint format bench bench-dense bench-scale bench-vocab eval ingest serve clean

$(BIN)/vademecum: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The tests also cover the optional dense retriever, so they install it (about 1.5 GB with torch).
$(VENV)/.dense-installed: $(BIN)/vademecum
	$(BIN)/pip install --quiet -e '.[test,dense]'
	touch $@

# The summary tests and `make eval-summaries` run a real model: llama-cpp-python compiles llama.cpp
# (scripts/build-llama-wheel), once per virtual environment; `make test` overlaps that build with the rest
# of the suite (scripts/test-with-llama-build).
$(VENV)/.llm-installed: $(VENV)/.dense-installed
	VENV=$(VENV) scripts/build-llama-wheel 2
	$(BIN)/pip install --quiet --find-links $(VENV)/llm-wheels -e '.[test,dense,llm]'
	touch $@

## run: create the virtual environment, install, ingest the demo corpus (skipped when current), serve on :8000
run: $(BIN)/vademecum
	$(BIN)/vademecum ingest --demo
	$(BIN)/vademecum serve

ingest: $(BIN)/vademecum
	$(BIN)/vademecum ingest --demo

serve: $(BIN)/vademecum
	$(BIN)/vademecum serve

## test: install test dependencies (and Debian's chromium), lint, start a private PostgreSQL, run the whole
## suite on SQLite and PostgreSQL, browser tests included (the first run also builds llama.cpp for the summary
## tests, beside the other tests)
test: $(VENV)/.dense-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	scripts/ensure-chromium
	VENV=$(VENV) scripts/test-with-llama-build

lint: $(BIN)/vademecum
	$(BIN)/ruff check src tests bench

format: $(BIN)/vademecum
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## bench: demo ingest time, MEDLINE throughput (100k records), search and ask latency, vocabulary, cold `vademecum ask`
## and serving memory, and a web load check (20 clients asking and reading for 60 s against
## `vademecum serve --workers <cores>`); JSON in bench/results/
bench: $(BIN)/vademecum
	$(BIN)/python bench/ingest_demo.py
	$(BIN)/python bench/medline_throughput.py
	$(BIN)/python bench/search_latency.py
	$(BIN)/python bench/ask_latency.py
	$(BIN)/python bench/vocabulary_timing.py
	$(BIN)/python bench/cold_ask.py
	$(BIN)/python bench/web_load.py

## bench-dense: the optional dense retriever on the demo corpus: embed its passages (resumable; tens of
## minutes on 2 cores the first time), then fused search latency, memory and disk beside the lexical search
bench-dense: $(VENV)/.dense-installed
	$(BIN)/python bench/ingest_demo.py
	VADEMECUM_HOME=bench/results/home-demo $(BIN)/vademecum index embed
	$(BIN)/python bench/dense_latency.py

## bench-scale: 1,000,000 MEDLINE records (the real sample re-ingested under new PMIDs) through one process and a
## 2-worker Dask LocalCluster on a private PostgreSQL: records/s, memory, index size, search/ask p50/p95 (10-20 min)
bench-scale: $(BIN)/vademecum
	scripts/with-test-postgres $(BIN)/python bench/scale.py

## bench-vocab: measure the abbreviation confidence threshold against the corpus's own definitions, and check that
## the compiled drug lexicon finds what the package read into memory finds on 62,000 corpus texts
bench-vocab: $(BIN)/vademecum
	$(BIN)/python bench/abbreviation_confidence.py
	$(BIN)/python bench/drug_lexicon_equivalence.py

## eval: retrieval quality (lexical, and fused with the dense retriever) beside a BM25 baseline: BioASQ Task 10b
## over the 7b-10b snippet pool, PubMedQA
EVAL ?= ../shared/eval
eval: $(VENV)/.dense-installed
	$(BIN)/vademecum eval bioasq --pool $(EVAL)/bioasq --queries $(EVAL)/bioasq/10B* --json bench/results/eval-bioasq.json
	$(BIN)/vademecum eval pubmedqa $(EVAL)/pubmedqa/test_ground_truth.json --json bench/results/eval-pubmedqa.json

## eval-articles: article quality on the ingested demo corpus (VADEMECUM_HOME): "What is the treatment for
## <disease>?" for every adult health-professional PDQ treatment summary, scored against that summary (option-list
## and agent recall, junk and off-intent sentences, body words, ask latency); see docs/article-quality.md
.PHONY: eval-articles
eval-articles: $(BIN)/vademecum
	$(BIN)/vademecum eval articles --json bench/results/eval-articles.json

## eval-labels: FDA label and research quality on the ingested demo corpus (VADEMECUM_HOME): "What is the treatment
## for <condition>?" for the 20 conditions most labels' indications name (on-label blocks with a dose, dose checks,
## research precision at 3 by MeSH headings and titles, body words, ask latency); see docs/label-research-quality.md
.PHONY: eval-labels eval-summaries
eval-labels: $(BIN)/vademecum
	$(BIN)/vademecum eval labels --json bench/results/eval-labels.json

## eval-summaries: the language-model summary on the eval-labels questions with a real local model (llama.cpp
## server, Gemma 3 270M, started for the run): sentences generated, accepted, rejected by reason, dropped
## summaries, strict-check failures, latency added, adversarial answers refused; see docs/summaries.md
eval-summaries: $(VENV)/.llm-installed
	$(BIN)/python tests/llama_server.py $(BIN)/vademecum eval summaries --json bench/results/eval-summaries.json

clean:
	rm -rf $(VENV) var bench/results .pytest_cache .ruff_cache
