# fanns-bench: `make bench` (install + the laptop experiment) and `make test` (install + the suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXTRAS ?= test
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
comma := ,

.PHONY: install install-all bench reproduce smoke test test-fast lint bench-stability bench-runner bench-groundtruth bench-filters bench-scale bench-acorn bench-methods bench-embedding fidelity clean

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

test:
	$(MAKE) install EXTRAS=$(or $(TEST_EXTRAS),test)
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check fanns_bench tests scripts examples
	$(VENV)/bin/ruff format --check fanns_bench tests scripts examples

# Ours against the authors' program (issue 19; docs/fidelity.md):
# make fidelity METHOD=ung REFERENCE=/tmp/refs/UNG/codes/build [DATA=synthetic]
fidelity: install
	$(VENV)/bin/fanns-bench fidelity $(METHOD) --reference $(REFERENCE) --data $(or $(DATA),arxiv_sample)

# Run one experiment twice and compare (issue 16): make bench-stability ARGS="--quick" (smoke,
# seconds), ARGS="--hogs 2" (two local CPU hogs during the second run), ARGS="--experiment NAME".
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

bench-embedding:
	$(MAKE) install EXTRAS=embed
	$(PY) scripts/bench_embedding.py --texts 200

clean:
	rm -rf build $(VENV) .pytest_cache
