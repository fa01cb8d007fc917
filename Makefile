# fanns-bench: `make bench` (install + the laptop experiment) and `make test` (install + the suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXTRAS ?= test
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
comma := ,

.PHONY: install install-all bench reproduce smoke test test-fast lint bench-router bench-stability bench-runner bench-groundtruth bench-filters bench-scale bench-acorn bench-methods bench-embedding bench-core-ab fidelity clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml CMakeLists.txt $(wildcard cpp/*/CMakeLists.txt cpp/*.cpp cpp/*/*.h cpp/*/*.hpp cpp/*/*.cpp) | $(VENV)/bin/python
	$(PIP) install --quiet -e ".[$(EXTRAS)]"
	touch $@

install: $(STAMP)

install-all:
	$(MAKE) install EXTRAS=test,all

# `fanns-bench run` exits 3 when some point failed: the figures and report are still drawn
# (the failures are in them), then make fails with that status; any other error stops at once.
bench:
	$(MAKE) install EXTRAS=all
	status=0; $(VENV)/bin/fanns-bench run experiment=laptop || status=$$?; \
	if [ $$status -ne 0 ] && [ $$status -ne 3 ]; then exit $$status; fi; \
	$(VENV)/bin/fanns-bench plot results/laptop && \
	$(VENV)/bin/fanns-bench report results/laptop > results/laptop/report.md && \
	echo "report: results/laptop/report.md" && exit $$status

# The router's honest evaluation (issue 21; README "Recommend"): learn a policy on make bench's
# experiment (workload seed 0), apply it with every single method on a held-out draw (seed 1),
# grade the three targets (exit 1 when one does not hold) and draw the figure. Each side has a
# runoff: the finalists of every cell (the configurations within 25 % of its fastest; on the
# held-out side the router and its pick too) measured again in RUNOFF_PROCESSES fresh
# processes, so neither the policy nor the grade rests on one process's draw; then the policy
# is chosen and target (b) graded paired (--paired: each cell's finalists, on the held-out side
# with the router, built in one process and timed in PAIRED_ROUNDS alternating rounds). The policy is
# copied under its content's digest, so a changed policy is a new router configuration (never
# a reused row). ROUTER_ARGS: extra Hydra overrides for both runs (a reduced dry run).
ROUTER_LEARN ?= results/laptop
ROUTER_HELDOUT ?= results/laptop_heldout
RECALL_Z ?= 1
RUNOFF_PROCESSES ?= 5
PAIRED_ROUNDS ?= 15
ROUTER_ARGS ?=
FB := $(VENV)/bin/fanns-bench
# a run's exit status: 0, or 3 (some point failed: its rows say so); anything else stops the chain
RUN_OK = if [ $$status -ne 0 ] && [ $$status -ne 3 ]; then exit $$status; fi
bench-router:
	$(MAKE) install EXTRAS=all
	status=0; $(FB) run experiment=laptop paths.results=$(ROUTER_LEARN) $(ROUTER_ARGS) || status=$$?; $(RUN_OK); \
	$(FB) recommend $(ROUTER_LEARN) --recall 0.9 --recall-z $(RECALL_Z) --runoff $(ROUTER_LEARN)/runoff.args \
		--runoff-processes $(RUNOFF_PROCESSES) > $(ROUTER_LEARN)/recommend-first.txt || exit $$?; \
	$(FB) run @$(ROUTER_LEARN)/runoff.args || status=$$?; $(RUN_OK); \
	$(FB) recommend $(ROUTER_LEARN)-runoff --recall 0.9 --recall-z $(RECALL_Z) --out $(ROUTER_LEARN)/policy.yaml \
		--paired --paired-rounds $(PAIRED_ROUNDS) \
		> $(ROUTER_LEARN)/recommend.txt || exit $$?; cat $(ROUTER_LEARN)/recommend.txt; \
	policy=$(ROUTER_LEARN)/policy-$$(sha256sum $(ROUTER_LEARN)/policy.yaml | cut -c1-12).yaml; \
	cp $(ROUTER_LEARN)/policy.yaml $$policy; \
	$(FB) run experiment=laptop_heldout paths.results=$(ROUTER_HELDOUT) \
		"method.router.build.policy=[$$policy]" $(ROUTER_ARGS) || status=$$?; $(RUN_OK); \
	$(FB) recommend $(ROUTER_HELDOUT) --recall 0.9 --grade --learned $(ROUTER_LEARN) --recall-z $(RECALL_Z) \
		--runoff $(ROUTER_HELDOUT)/runoff.args \
		--runoff-processes $(RUNOFF_PROCESSES) > $(ROUTER_HELDOUT)/grade-first.txt || code=$$?; \
	if [ $${code:-0} -gt 1 ]; then exit $$code; fi; \
	$(FB) run @$(ROUTER_HELDOUT)/runoff.args || status=$$?; $(RUN_OK); \
	code=0; $(FB) recommend $(ROUTER_HELDOUT)-runoff --recall 0.9 --grade --learned $(ROUTER_LEARN) --recall-z $(RECALL_Z) \
		--paired --paired-rounds $(PAIRED_ROUNDS) \
		--figure $(ROUTER_HELDOUT)-runoff/router_vs_best.png > $(ROUTER_HELDOUT)-runoff/grade.txt || code=$$?; \
	cat $(ROUTER_HELDOUT)-runoff/grade.txt; if [ $$code -ne 0 ]; then exit $$code; fi; exit $$status

reproduce:
	$(MAKE) install EXTRAS=all
	status=0; for figure in paper_fig23_em_scaled paper_fig23_r_scaled paper_fig23_emis_scaled paper_k_scaled paper_selectivity_scaled; do \
		code=0; $(VENV)/bin/fanns-bench run experiment=$$figure || code=$$?; \
		if [ $$code -eq 3 ]; then status=3; elif [ $$code -ne 0 ]; then exit $$code; fi; done; \
	$(VENV)/bin/fanns-bench plot results/paper_scaled && \
	$(VENV)/bin/fanns-bench report results/paper_scaled --compare paper > results/paper_scaled/report.md && \
	echo "report: results/paper_scaled/report.md" && exit $$status

smoke: install
	$(VENV)/bin/fanns-bench run experiment=smoke

# The suite on TEST_WORKERS pytest-xdist workers (tests are isolated: tmp folders, PostgreSQL on
# its own Unix socket, their own processes); the slow tests come first (tests/conftest.py) and
# worksteal hands the rest to whichever worker is free.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test:
	$(MAKE) install EXTRAS=$(or $(TEST_EXTRAS),test)
	$(PYTEST)

test-fast: install
	$(PYTEST) -m "not slow"

lint: install
	$(VENV)/bin/ruff check fanns_bench tests scripts examples
	$(VENV)/bin/ruff format --check fanns_bench tests scripts examples

# Ours against the authors' program (issue 19; docs/fidelity.md):
# make fidelity METHOD=ung REFERENCE=/tmp/refs/UNG/codes/build [DATA=synthetic]
fidelity: install
	$(VENV)/bin/fanns-bench fidelity $(METHOD) --reference $(REFERENCE) --data $(or $(DATA),arxiv_sample)

# Run one experiment twice and compare (issue 16): make bench-stability ARGS="--quick" (smoke,
# seconds), ARGS="--hogs 2" (two local CPU hogs during the second run), ARGS="--experiment NAME",
# ARGS="--alternate" (the two runs method by method and process by process, A then B: both see
# the same host).
bench-stability:
	$(MAKE) install EXTRAS=all
	$(PY) scripts/bench_stability.py $(ARGS)

bench-runner: install
	$(PY) scripts/bench_runner_overhead.py

bench-groundtruth: install
	$(PY) scripts/bench_groundtruth.py

bench-scale: install
	$(PY) scripts/bench_scale.py --count 1000000 --dimension 384

bench-filters:
	$(MAKE) install EXTRAS=all
	$(PY) scripts/bench_filters.py --selectivity 0.01

bench-acorn:
	$(MAKE) install EXTRAS=all
	$(VENV)/bin/fanns-bench run bench_acorn
	$(VENV)/bin/fanns-bench report results/bench_acorn > results/bench_acorn/report.md && echo "report: results/bench_acorn/report.md"

bench-methods:
	$(MAKE) install EXTRAS=all
	$(VENV)/bin/fanns-bench run bench_methods
	$(VENV)/bin/fanns-bench report results/bench_methods > results/bench_methods/report.md && echo "report: results/bench_methods/report.md"

# The compiled core against an earlier commit's build (issue 20; README "The compiled core against
# an earlier commit"): recall and after/before QPS per compiled method, fresh processes alternating.
# make bench-core-ab BEFORE=/tmp/core20-before/.venv/bin/python (made by scripts/commit_env.sh
# 6eaf1e7 /tmp/core20-before); exit 1 when a ratio is below 0.97 or a recall differs.
bench-core-ab: install
	$(if $(BEFORE),,$(error BEFORE=PYTHON is required; scripts/commit_env.sh COMMIT DIR makes one))
	$(PY) scripts/bench_core_ab.py --before $(BEFORE) $(ARGS)

bench-embedding:
	$(MAKE) install EXTRAS=embed
	$(PY) scripts/bench_embedding.py --texts 200

clean:
	rm -rf build $(VENV) .pytest_cache
